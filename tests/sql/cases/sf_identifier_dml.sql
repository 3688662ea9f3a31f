INSERT INTO IDENTIFIER('Raw."events_Daily"') (id, payload)
SELECT id, payload FROM IDENTIFIER('staging.events');
DELETE FROM IDENTIFIER('db2.staging.events') WHERE id < 0;
