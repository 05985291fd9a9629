-- The schemas of the showcase's tables (lake.crm.customers, lake.segments.assignments,
-- warehouse.crm.customers_clean, warehouse.campaign.targets), run once by trino-schemas.
CREATE SCHEMA IF NOT EXISTS lake.crm;
CREATE SCHEMA IF NOT EXISTS lake.segments;
CREATE SCHEMA IF NOT EXISTS warehouse.crm;
CREATE SCHEMA IF NOT EXISTS warehouse.campaign;
