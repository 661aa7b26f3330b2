-- The buyer's order history page sorts by date. Built CONCURRENTLY so checkout keeps
-- writing to "Order" meanwhile; that only works as the migration's single statement
-- (PostgreSQL refuses it inside a transaction block).
CREATE INDEX CONCURRENTLY "Order_buyerId_createdAt_idx" ON "Order"("buyerId", "createdAt" DESC);
