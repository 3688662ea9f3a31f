CREATE OR REPLACE RULE log_big_orders AS
    ON INSERT TO analytics.customer_facts
    WHERE NEW.lifetime_value > 1000
    DO ALSO (
        INSERT INTO audit_log (who, what) VALUES (NEW.cust_id, 'big');
        UPDATE region_totals SET total = total + NEW.lifetime_value WHERE region = NEW.region
    );
CREATE RULE no_delete AS ON DELETE TO customer_facts DO INSTEAD NOTHING;
CREATE RULE mirror AS ON UPDATE TO staging.orders
    DO INSTEAD UPDATE customer_facts SET region = NEW.region WHERE cust_id = OLD.cust_id
