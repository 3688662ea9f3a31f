SELECT x."Total Amount" FROM "we""ird"."My Table" AS x
