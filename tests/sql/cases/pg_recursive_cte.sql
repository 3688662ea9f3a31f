WITH RECURSIVE tree(id, parent_id) AS (
    SELECT id, parent_id FROM org_units WHERE parent_id IS NULL
    UNION ALL
    SELECT u.id, u.parent_id FROM org_units u JOIN tree t ON u.parent_id = t.id
)
SELECT * FROM tree
