SELECT a.id FROM `proj.ds`.customer_facts AS a
