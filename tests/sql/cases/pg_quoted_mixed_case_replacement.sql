SELECT x FROM customer_facts
