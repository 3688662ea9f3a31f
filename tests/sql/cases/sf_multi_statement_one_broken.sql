SELECT c.id, c.tag FROM analytics.customer_facts c WHERE c.tag = 'x;y';
INSERT INTO analytics.daily (id) SELECT id FROM raw.events WHERE id IN (1, 2;
-- a comment; with a semicolon
SELECT $$ ; not a separator $$ AS s, t.id FROM raw.sessions t;
