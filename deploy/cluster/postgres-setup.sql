-- The PostgreSQL side of deploy/cluster: a login role for keyward and a
-- database it owns. Run once, as a superuser, on the database server:
--
--   sudo -u postgres psql -v password="$(cat /root/keyward-db-password)" -f postgres-setup.sql
--
-- Variables (psql -v NAME=VALUE): role (default keyward), dbname (default
-- keyward), password (default none: then pg_hba.conf must authenticate the
-- role another way, e.g. peer or cert). Running it again changes nothing.
--
-- keyward needs no superuser and no extension: it creates its tables (the
-- numbered migrations, applied by the first node that starts) in the
-- database's public schema, which in PostgreSQL 15 belongs to the database
-- owner. Nothing else is granted; PUBLIC may not even connect.
\set ON_ERROR_STOP on
\if :{?role}
\else
  \set role keyward
\endif
\if :{?dbname}
\else
  \set dbname keyward
\endif
\if :{?password}
\else
  \set password ''
\endif

SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', NULLIF(:'password', ''))
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')
\gexec

-- Three nodes with database_pool_size = 8, each also holding one LISTEN
-- connection, plus `keyward migrate` and the command line: 64 is room enough.
ALTER ROLE :"role" CONNECTION LIMIT 64;
-- A session stuck in a transaction must not hold locks for long.
ALTER ROLE :"role" SET idle_in_transaction_session_timeout = '60s';

SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'dbname', :'role', 'UTF8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname')
\gexec

REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO :"role";
