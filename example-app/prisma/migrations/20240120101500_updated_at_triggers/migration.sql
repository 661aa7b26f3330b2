-- Keep "updatedAt" right for writes that bypass Prisma Client (psql, reporting jobs).
CREATE OR REPLACE FUNCTION "set_updated_at"() RETURNS trigger
LANGUAGE plpgsql
AS $function$
BEGIN
    -- Statements inside the body end with semicolons; the body is one string to the parser.
    IF ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
        NEW."updatedAt" := CURRENT_TIMESTAMP;
    END IF;
    RETURN NEW;
END;
$function$;

CREATE TRIGGER "User_set_updated_at" BEFORE UPDATE ON "User"
    FOR EACH ROW EXECUTE FUNCTION "set_updated_at"();

CREATE TRIGGER "Product_set_updated_at" BEFORE UPDATE ON "Product"
    FOR EACH ROW EXECUTE FUNCTION "set_updated_at"();

CREATE TRIGGER "Order_set_updated_at" BEFORE UPDATE ON "Order"
    FOR EACH ROW EXECUTE FUNCTION "set_updated_at"();
