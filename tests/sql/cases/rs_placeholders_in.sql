select count(*) from customer_facts where region in ($1,$2,$3)
