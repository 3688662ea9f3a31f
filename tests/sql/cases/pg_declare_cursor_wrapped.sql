BEGIN;
DECLARE big_spenders BINARY NO SCROLL CURSOR WITH HOLD FOR
    SELECT cust_id, region FROM customer_facts WHERE region IN ($1, $2);
declare c2 cursor for select f.cust_id from analytics.customer_facts f;
DECLARE c3 INSENSITIVE SCROLL CURSOR WITHOUT HOLD FOR VALUES (1), (2)
