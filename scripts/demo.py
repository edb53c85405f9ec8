#!/usr/bin/env python3
"""`make demo`: show what is running where (grows into the example site)."""

from __future__ import annotations

import os

import pymongo
import psycopg


def main() -> None:
    database_url = os.environ["DUALDB_DATABASE_URL"]
    mongo_url = os.environ["DUALDB_MONGO_URL"]
    with psycopg.connect(database_url) as conn:
        postgres_version = conn.execute("SHOW server_version").fetchone()[0]
    with pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=2000) as client:
        info = client.server_info()
    server = f"FerretDB {info['ferretdbVersion']}" if "ferretdbVersion" in info else "MongoDB"
    print(f"PostgreSQL {postgres_version:<10} {database_url}")
    print(f"{server:<20} {mongo_url}  (MongoDB {info['version']} wire protocol)")


if __name__ == "__main__":
    main()
