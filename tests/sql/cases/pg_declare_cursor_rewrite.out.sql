DECLARE big_spenders BINARY NO SCROLL CURSOR WITH HOLD FOR
    SELECT customer_id AS cust_id, region FROM entity_customers WHERE region IN ($1, $2);
declare c2 cursor for select f.customer_id AS cust_id from analytics.entity_customers f
