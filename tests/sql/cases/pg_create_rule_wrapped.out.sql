CREATE OR REPLACE RULE log_big_orders AS
    ON INSERT TO analytics.entity_customers
    WHERE NEW.ltv > 1000
    DO ALSO (
        INSERT INTO audit_log (who, what) VALUES (NEW.customer_id, 'big');
        UPDATE region_totals SET total = total + NEW.ltv WHERE region = NEW.region
    );
CREATE RULE no_delete AS ON DELETE TO entity_customers DO INSTEAD NOTHING;
CREATE RULE mirror AS ON UPDATE TO staging.orders
    DO INSTEAD UPDATE entity_customers SET region = NEW.region WHERE customer_id = OLD.cust_id
