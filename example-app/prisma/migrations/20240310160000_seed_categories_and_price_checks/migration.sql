-- Top-level categories the storefront navigation expects.
INSERT INTO "Category" ("name", "slug") VALUES
    ('Video; Movies & TV', 'video'),
    ('Music; Podcasts', 'music'),
    ('Gaming', 'gaming')
ON CONFLICT ("slug") DO NOTHING;

-- Refuse to add the constraint over bad rows with a readable message, not a bare 23514.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM "Product" WHERE "priceCents" < 0 OR "stock" < 0) THEN
        RAISE EXCEPTION 'products with negative price or stock exist; fix them before this migration';
    END IF;
END
$$;

ALTER TABLE "Product" ADD CONSTRAINT "Product_priceCents_check" CHECK ("priceCents" >= 0);
ALTER TABLE "Product" ADD CONSTRAINT "Product_stock_check" CHECK ("stock" >= 0);
