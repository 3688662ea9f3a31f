-- PostgreSQL Unicode identifiers spell customer_facts without writing it
SELECT cust_id FROM analytics.U&"customer_\0066acts";
SELECT cust_id FROM analytics.u&"customer!005ffacts" UESCAPE '!';
SELECT cust_id FROM analytics.customer_facts;
