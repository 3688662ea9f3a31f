select x from customer_facts
