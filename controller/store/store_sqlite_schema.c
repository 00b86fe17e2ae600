// SPDX-License-Identifier: Apache-2.0
/*
 * The SQLite store's schema: the ordered migration steps that store_sqlite.c
 * applies, one transaction each, to take a file from any released version to
 * the current one. Kept apart from the statements that use the tables: this
 * file only ever grows at its end.
 */
#include "controller/store/store_sqlite_int.h"

/*
 * Migration steps, in order: step i takes user_version i to i + 1. A step is
 * never edited once released (store_test.c keeps a frozen copy of step 1 to
 * prove that); later changes are new steps at the end.
 */
const struct sq_migration sq_migrations[] = {
    {
        "base schema",
        /* The revision counter lives in the file so it survives restarts. */
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO meta (key, value) VALUES ('revision', 0);"
        /* AUTOINCREMENT: ids are never reused, so an id in an old audit
         * entry or a stale agent cannot name a newer record. */
        "CREATE TABLE networks ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
        " cidr TEXT NOT NULL, port INTEGER NOT NULL, mtu INTEGER NOT NULL,"
        " topology TEXT NOT NULL, hub_node_id INTEGER NOT NULL DEFAULT 0,"
        " created INTEGER NOT NULL);"
        /* A network with nodes cannot be deleted. The default NO ACTION,
         * not RESTRICT: RESTRICT reports SQLITE_CONSTRAINT_TRIGGER, NO ACTION
         * the SQLITE_CONSTRAINT_FOREIGNKEY that fail() maps. The overlay
         * address is kept in host order so it sorts numerically. */
        "CREATE TABLE nodes ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " network_id INTEGER NOT NULL REFERENCES networks (id), name TEXT NOT NULL,"
        " id_pk BLOB NOT NULL UNIQUE, wg_pk BLOB NOT NULL UNIQUE,"
        " overlay_addr INTEGER NOT NULL, created INTEGER NOT NULL,"
        " last_seen INTEGER NOT NULL DEFAULT 0, last_counter INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (network_id, name), UNIQUE (network_id, overlay_addr));"
        /* pos keeps the caller's order; rows rather than an encoded column
         * keep labels queryable for the scheduler's selectors. */
        "CREATE TABLE node_labels ("
        " node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,"
        " pos INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (node_id, pos)) WITHOUT ROWID;"
        "CREATE TABLE node_endpoints ("
        " node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,"
        " pos INTEGER NOT NULL, endpoint TEXT NOT NULL,"
        " PRIMARY KEY (node_id, pos)) WITHOUT ROWID;"
        "CREATE TABLE sections ("
        " node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,"
        " function TEXT NOT NULL, desired_rev INTEGER NOT NULL, hash BLOB NOT NULL,"
        " applied_rev INTEGER NOT NULL, error TEXT NOT NULL,"
        " PRIMARY KEY (node_id, function)) WITHOUT ROWID;"
        /* A token is useless once its network is gone. seq is the integer
         * key its labels hang off. */
        "CREATE TABLE join_tokens ("
        " seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
        " network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,"
        " hash BLOB NOT NULL UNIQUE, expires INTEGER NOT NULL, uses INTEGER NOT NULL,"
        " uses_left INTEGER NOT NULL, revoked INTEGER NOT NULL, created INTEGER NOT NULL);"
        "CREATE TABLE join_token_labels ("
        " token_seq INTEGER NOT NULL REFERENCES join_tokens (seq) ON DELETE CASCADE,"
        " pos INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (token_seq, pos)) WITHOUT ROWID;"
        "CREATE TABLE api_tokens ("
        " seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, role TEXT NOT NULL,"
        " name TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, revoked INTEGER NOT NULL,"
        " created INTEGER NOT NULL);"
        "CREATE TABLE audit ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
        " actor TEXT NOT NULL, method TEXT NOT NULL, object TEXT NOT NULL,"
        " detail TEXT NOT NULL);",
    },
    {
        /* The hub is named so it can be chosen before its node joins;
         * existing networks get none. Deleting a network cascades into
         * join_tokens: without an index on the child column that is a
         * full scan. Audit queries by time range come with the API's
         * audit filters. */
        "network hub name, token network and audit time indexes",
        "ALTER TABLE networks ADD COLUMN hub_name TEXT NOT NULL DEFAULT '';"
        "CREATE INDEX join_tokens_network ON join_tokens (network_id);"
        "CREATE INDEX audit_time ON audit (time);",
    },
    {
        /* Policies go with their network, rules and selector labels with
         * their policy; the UNIQUE keys index those cascades. Rule ids are
         * AUTOINCREMENT and global: agents report counters by rule id, so an
         * id must never come to name another rule. UNIQUE (policy_id,
         * position) keeps a policy's order total. */
        "firewall policies and rules",
        "CREATE TABLE fw_policies ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, default_deny INTEGER NOT NULL, block_ssh INTEGER NOT NULL,"
        " created INTEGER NOT NULL, UNIQUE (network_id, name));"
        "CREATE TABLE fw_policy_labels ("
        " policy_id INTEGER NOT NULL REFERENCES fw_policies (id) ON DELETE CASCADE,"
        " pos INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (policy_id, pos)) WITHOUT ROWID;"
        "CREATE TABLE fw_rules ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " policy_id INTEGER NOT NULL REFERENCES fw_policies (id) ON DELETE CASCADE,"
        " position INTEGER NOT NULL, direction TEXT NOT NULL, protocol TEXT NOT NULL,"
        " src TEXT NOT NULL, dst TEXT NOT NULL, dst_port TEXT NOT NULL,"
        " action TEXT NOT NULL, rate TEXT NOT NULL, log_prefix TEXT NOT NULL,"
        " UNIQUE (policy_id, position));",
    },
    {
        /* Load balancers go with their network, and their selectors
         * (role 'backend' or 'placement') and explicit backends
         * (addresses in host order, like overlay addresses) with them.
         * Placements name any kind of placed object, so neither key is
         * a foreign key: the trigger drops a load balancer's placements
         * with it (also when its network's delete cascades), and
         * node_id is deliberately free so the scheduler sees that a
         * replica's node is gone, moves it and says why. */
        "load balancers and placements",
        "CREATE TABLE lbs ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, protocol TEXT NOT NULL, algorithm TEXT NOT NULL,"
        " vip INTEGER NOT NULL, port INTEGER NOT NULL, backend_port INTEGER NOT NULL,"
        " backend_weight INTEGER NOT NULL, hc_interval_ms INTEGER NOT NULL,"
        " hc_timeout_ms INTEGER NOT NULL, hc_rise INTEGER NOT NULL, hc_fall INTEGER NOT NULL,"
        " hc_port INTEGER NOT NULL, replicas INTEGER NOT NULL, created INTEGER NOT NULL,"
        " UNIQUE (network_id, name));"
        "CREATE TABLE lb_labels ("
        " lb_id INTEGER NOT NULL REFERENCES lbs (id) ON DELETE CASCADE,"
        " role TEXT NOT NULL, pos INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (lb_id, role, pos)) WITHOUT ROWID;"
        "CREATE TABLE lb_backends ("
        " lb_id INTEGER NOT NULL REFERENCES lbs (id) ON DELETE CASCADE,"
        " pos INTEGER NOT NULL, addr INTEGER NOT NULL, port INTEGER NOT NULL,"
        " weight INTEGER NOT NULL, PRIMARY KEY (lb_id, pos)) WITHOUT ROWID;"
        "CREATE TABLE placements ("
        " kind TEXT NOT NULL, object_id INTEGER NOT NULL, slot INTEGER NOT NULL,"
        " node_id INTEGER NOT NULL, since INTEGER NOT NULL, reason TEXT NOT NULL,"
        " PRIMARY KEY (kind, object_id, slot)) WITHOUT ROWID;"
        "CREATE TRIGGER lbs_placements AFTER DELETE ON lbs BEGIN"
        " DELETE FROM placements WHERE kind = 'lb' AND object_id = OLD.id; END;",
    },
    {
        /* Every network has a zone, <name>.<domain>: existing ones get the
         * default domain and one server. Records go with their network;
         * UNIQUE refuses an exact duplicate and indexes the cascade. The
         * DNS servers' placements are the network's own (object_id is the
         * network id), so a trigger drops them with it, as lbs_placements
         * does for a load balancer's. */
        "overlay DNS: network domain and servers, records",
        "ALTER TABLE networks ADD COLUMN domain TEXT NOT NULL DEFAULT 'netfn.internal';"
        "ALTER TABLE networks ADD COLUMN dns_replicas INTEGER NOT NULL DEFAULT 1;"
        "CREATE TABLE dns_records ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL,"
        " ttl INTEGER NOT NULL, created INTEGER NOT NULL,"
        " UNIQUE (network_id, name, type, value));"
        "CREATE TRIGGER networks_dns_placements AFTER DELETE ON networks BEGIN"
        " DELETE FROM placements WHERE kind = 'dns' AND object_id = OLD.id; END;",
    },
    {
        /* External clients go with their network, and their labels (role
         * 'label' or 'gateway', the gateway selector) with them. A name,
         * a WireGuard key and an address are each one client's in a
         * network (the API also keeps names and keys apart from the
         * nodes'). The trigger drops a client's gateway placement with
         * it, also when its network's delete cascades, as lbs_placements
         * does for a load balancer's. */
        "external clients",
        "CREATE TABLE clients ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, wg_pk BLOB NOT NULL, overlay_addr INTEGER NOT NULL,"
        " expires INTEGER NOT NULL, created INTEGER NOT NULL,"
        " UNIQUE (network_id, name), UNIQUE (network_id, wg_pk),"
        " UNIQUE (network_id, overlay_addr));"
        "CREATE TABLE client_labels ("
        " client_id INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,"
        " role TEXT NOT NULL, pos INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (client_id, role, pos)) WITHOUT ROWID;"
        "CREATE TRIGGER clients_placements AFTER DELETE ON clients BEGIN"
        " DELETE FROM placements WHERE kind = 'gateway' AND object_id = OLD.id; END;",
    },
    {
        /* Traffic classes go with their network, and their matches with
         * them. A class's name and its HTB minor are each one class's in a
         * network: the minor is what every node's kernel calls the class,
         * so two classes sharing one would shape as one. A network without
         * a link rate has 0, which the API reads as unset. */
        "traffic classes",
        "ALTER TABLE networks ADD COLUMN qos_link_bps INTEGER NOT NULL DEFAULT 0;"
        "CREATE TABLE qos_classes ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, min_bps INTEGER NOT NULL, max_bps INTEGER NOT NULL,"
        " priority INTEGER NOT NULL, minor INTEGER NOT NULL, created INTEGER NOT NULL,"
        " UNIQUE (network_id, name), UNIQUE (network_id, minor));"
        "CREATE TABLE qos_matches ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " class_id INTEGER NOT NULL REFERENCES qos_classes (id) ON DELETE CASCADE,"
        " protocol TEXT NOT NULL, port TEXT NOT NULL, peer TEXT NOT NULL, cidr TEXT NOT NULL);"
        "CREATE INDEX qos_matches_class ON qos_matches (class_id);",
    },
    {
        /* A flow filter is one node's: it goes with its node, and with its
         * network (which the nodes' key only lets go once they are gone).
         * AUTOINCREMENT: an agent's flow cookies carry the id, so an id must
         * never come to name another filter. A name is optional, and one
         * filter's in a network when given: the partial index leaves the
         * unnamed ones out. The plain indexes serve both cascades and the
         * per-node listing the compiler makes. */
        "flow filters",
        "CREATE TABLE flow_filters ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,"
        " node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, protocol TEXT NOT NULL, dst_port INTEGER NOT NULL,"
        " src TEXT NOT NULL, dst TEXT NOT NULL, action TEXT NOT NULL,"
        " priority INTEGER NOT NULL, created INTEGER NOT NULL);"
        "CREATE UNIQUE INDEX flow_filters_name ON flow_filters (network_id, name)"
        " WHERE name <> '';"
        "CREATE INDEX flow_filters_network ON flow_filters (network_id);"
        "CREATE INDEX flow_filters_node ON flow_filters (node_id);",
    },
};

const int sq_schema_version = (int)(sizeof(sq_migrations) / sizeof(sq_migrations[0]));
