SELECT a.id
FROM `proj` . `core` /* dataset */ . `entity_customers` AS a
JOIN proj.core # the table:
  .entity_customers AS b USING (id)
JOIN `proj.core.entity_customers` AS c ON c.id = a.id
