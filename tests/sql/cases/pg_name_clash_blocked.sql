SELECT customer_facts.cust_id, entity_customers.segment
FROM customer_facts JOIN entity_customers ON entity_customers.customer_id = customer_facts.cust_id
