-- Human-friendly order numbers for support tickets, backfilled in creation order.
-- Written with an explicit transaction so the backfill and the constraints land together.
BEGIN;

CREATE SEQUENCE "Order_orderNumber_seq" AS INTEGER START WITH 100001;

ALTER TABLE "Order" ADD COLUMN "orderNumber" INTEGER;

DO $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN SELECT "id" FROM "Order" ORDER BY "createdAt", "id" LOOP
        UPDATE "Order" SET "orderNumber" = nextval('"Order_orderNumber_seq"') WHERE "id" = r."id";
    END LOOP;
END
$$;

ALTER TABLE "Order" ALTER COLUMN "orderNumber" SET DEFAULT nextval('"Order_orderNumber_seq"');
ALTER TABLE "Order" ALTER COLUMN "orderNumber" SET NOT NULL;
ALTER SEQUENCE "Order_orderNumber_seq" OWNED BY "Order"."orderNumber";

-- CreateIndex
CREATE UNIQUE INDEX "Order_orderNumber_key" ON "Order"("orderNumber");

COMMIT;
