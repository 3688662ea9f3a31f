EXPLAIN SELECT cust_id FROM customer_facts WHERE;
EXPLAIN EXECUTE by_region('EU');
PREPARE p AS SELEC cust_id FROM customer_facts;
DECLARE c CURSOR customer_facts;
SELECT region FROM customer_facts
