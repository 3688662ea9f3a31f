SELECT name FROM customer_facts WHERE cust_id IN ($1,$2) AND region = $3 AND note <> '$4' AND tag = $$x$1$$
