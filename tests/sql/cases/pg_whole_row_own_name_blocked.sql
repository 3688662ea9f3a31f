select row_to_json(customer_facts) as doc from customer_facts
