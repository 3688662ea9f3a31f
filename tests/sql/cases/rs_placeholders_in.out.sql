select count(*) from entity_customers where region in ($1,$2,$3)
