select cf.cust_id from analytics.customer_facts cf where cf.cust_id in ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) limit $11
