SELECT a.id
FROM `proj` . `ds` /* dataset */ . `customer_facts` AS a
JOIN proj.ds # the table:
  .customer_facts AS b USING (id)
JOIN `proj.ds.customer_facts` AS c ON c.id = a.id
