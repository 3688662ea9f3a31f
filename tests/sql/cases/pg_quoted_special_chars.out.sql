SELECT x."Total Amount" FROM "we""ird"."New Table" AS x
