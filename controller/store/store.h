/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller's store: desired state as plain records, behind one
 * interface so another engine (PostgreSQL for several controller replicas)
 * can be added later. The SQLite engine (store_sqlite.c) is the default.
 *
 * Callers group every mutation with its audit entry between store_begin and
 * store_commit; a failed step is followed by store_rollback, so nothing is
 * ever half-written. All functions return 0 or a negative errno:
 * -ENOENT (no such record), -EEXIST (a unique name or key is taken),
 * -EIO (the engine failed; it logged why).
 */
#ifndef NETFN_CONTROLLER_STORE_STORE_H
#define NETFN_CONTROLLER_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_NAME_MAX      64 /* names, label keys and values: 1-63 chars */
#define ST_MAX_LABELS    16
#define ST_MAX_ENDPOINTS 4
#define ST_ENDPOINT_MAX  64
#define ST_CIDR_MAX      48
#define ST_ID_MAX        32
#define ST_HASH_LEN      32
#define ST_KEY_LEN       32
#define ST_FUNC_MAX      16
#define ST_ERROR_MAX     256
#define ST_DOMAIN_MAX    192 /* a DNS domain, without the trailing dot */
/* Firewall rule text fields; netfns/firewall/fw_compile.h bounds what it accepts to fit. */
#define ST_FW_WORD_MAX  8    /* direction, protocol, action */
#define ST_FW_ADDRS_MAX 2048 /* src, dst: space-separated CIDRs and selectors */
#define ST_FW_PORTS_MAX 256
#define ST_FW_RATE_MAX  24
#define ST_FW_LOG_MAX   64

struct st_label {
	char key[ST_NAME_MAX];
	char value[ST_NAME_MAX];
};

struct st_network {
	int64_t id;
	char name[ST_NAME_MAX];
	char cidr[ST_CIDR_MAX]; /* canonical "a.b.c.d/n" */
	uint16_t port;
	uint32_t mtu;
	char topology[8];           /* "mesh" | "hub" */
	int64_t hub_node_id;        /* 0: none */
	char hub_name[ST_NAME_MAX]; /* the hub by name: it may join after the network exists */
	int64_t created;
	char domain[ST_DOMAIN_MAX]; /* the zone is <name>.<domain> */
	uint32_t dns_replicas;      /* DNS servers to place: 1 or 2 */
	uint64_t qos_link_bps;      /* the rate traffic classes share per node; 0: unset */
};

struct st_node {
	int64_t id;
	int64_t network_id;
	char name[ST_NAME_MAX];
	size_t n_labels;
	struct st_label labels[ST_MAX_LABELS];
	size_t n_endpoints;
	char endpoints[ST_MAX_ENDPOINTS][ST_ENDPOINT_MAX];
	uint8_t id_pk[ST_KEY_LEN]; /* the agent's identity (sealing) key */
	uint8_t wg_pk[ST_KEY_LEN];
	uint32_t overlay_addr; /* IPv4, network byte order */
	int64_t created;
	int64_t last_seen;     /* unix seconds; 0 never */
	uint64_t last_counter; /* highest sealed-message counter accepted */
};

/* One network function's revisions on one node. */
struct st_section {
	int64_t node_id;
	char function[ST_FUNC_MAX]; /* "vpn", ... */
	uint64_t desired_rev;
	uint8_t hash[ST_HASH_LEN]; /* hash of the compiled section, to skip no-op bumps */
	uint64_t applied_rev;
	char error[ST_ERROR_MAX];
};

struct st_join_token {
	char id[ST_ID_MAX];
	int64_t network_id;
	uint8_t hash[ST_HASH_LEN];
	int64_t expires; /* unix seconds */
	uint32_t uses;
	uint32_t uses_left;
	size_t n_labels;
	struct st_label labels[ST_MAX_LABELS];
	bool revoked;
	int64_t created;
};

struct st_api_token {
	char id[ST_ID_MAX];
	char role[8]; /* "admin" | "reader" */
	char name[ST_NAME_MAX];
	uint8_t hash[ST_HASH_LEN];
	bool revoked;
	int64_t created;
};

struct st_audit {
	int64_t id;
	int64_t time;
	char actor[ST_NAME_MAX];
	char method[ST_NAME_MAX];
	char object[128];
	char detail[256];
};

/* A firewall policy: selects the nodes of its network carrying all of selector's labels. */
struct st_fw_policy {
	int64_t id;
	int64_t network_id;
	char name[ST_NAME_MAX];
	size_t n_selector; /* 0: every node of the network */
	struct st_label selector[ST_MAX_LABELS];
	bool default_deny; /* inbound */
	bool block_ssh;    /* with default_deny: tcp/22 is not kept open */
	int64_t created;
};

/*
 * One rule of a policy, as canonical text (fw_rule_parse reads it back).
 * The id is global and never reused: agents report counters by it.
 */
struct st_fw_rule {
	int64_t id;
	int64_t policy_id;
	uint32_t position; /* 1-based place in the policy */
	char direction[ST_FW_WORD_MAX];
	char protocol[ST_FW_WORD_MAX];
	char src[ST_FW_ADDRS_MAX]; /* "" any */
	char dst[ST_FW_ADDRS_MAX];
	char dst_port[ST_FW_PORTS_MAX]; /* "" any */
	char action[ST_FW_WORD_MAX];
	char rate[ST_FW_RATE_MAX]; /* "" none */
	char log_prefix[ST_FW_LOG_MAX];
};

/* Load balancers: an explicit backend. Addresses are IPv4, network byte order. */
#define ST_LB_MAX_BACKENDS 64

struct st_lb_backend {
	uint32_t addr;
	uint16_t port;
	uint16_t weight; /* 1-100 */
};

/* A load balancer; unique by name in its network, deleted with it. */
struct st_lb {
	int64_t id;
	int64_t network_id;
	char name[ST_NAME_MAX];
	char protocol[8];   /* "tcp" | "udp" */
	char algorithm[16]; /* "round-robin" | "random" | "source-hash" */
	uint32_t vip;       /* an overlay address; 0: each hosting node's own address */
	uint16_t port;
	/* Selector backends, present when backend_port != 0 (no labels: every node). */
	size_t n_backend_selector;
	struct st_label backend_selector[ST_MAX_LABELS];
	uint16_t backend_port;
	uint16_t backend_weight;
	size_t n_backends;
	struct st_lb_backend backends[ST_LB_MAX_BACKENDS];
	uint32_t hc_interval_ms; /* 0: no health checks */
	uint32_t hc_timeout_ms;
	uint32_t hc_rise;
	uint32_t hc_fall;
	uint16_t hc_port;   /* 0: each backend's port */
	size_t n_placement; /* nodes allowed to host the frontend; 0: any */
	struct st_label placement[ST_MAX_LABELS];
	uint32_t replicas;
	int64_t created;
};

/*
 * Where the scheduler put one replica (slot) of a placed object. kind names
 * the object's table ("lb"; later "dns", "gateway", ...); the record goes
 * with the object and is rewritten when the replica moves.
 */
#define ST_KIND_MAX 16

struct st_placement {
	char kind[ST_KIND_MAX];
	int64_t object_id;
	uint32_t slot;   /* 0 .. replicas-1 */
	int64_t node_id; /* always a node that existed when placed */
	int64_t since;   /* unix seconds */
	char reason[128];
};

/* A custom record of a network's zone (see DnsRecord in proto/netfn.proto). */
#define ST_DNS_VALUE_MAX 512

struct st_dns_record {
	int64_t id;
	int64_t network_id;
	char name[ST_DOMAIN_MAX]; /* relative to the zone; "@" the zone itself */
	char type[8];             /* "A" | "AAAA" | "CNAME" | "SRV" | "TXT" */
	char value[ST_DNS_VALUE_MAX];
	uint32_t ttl;
	int64_t created;
};

/* An external client (a machine with no agent); unique by name in its network. */
struct st_client {
	int64_t id;
	int64_t network_id;
	char name[ST_NAME_MAX];
	uint8_t wg_pk[ST_KEY_LEN];
	uint32_t overlay_addr; /* IPv4, network byte order */
	size_t n_labels;
	struct st_label labels[ST_MAX_LABELS];
	size_t n_gateway_selector;
	struct st_label gateway_selector[ST_MAX_LABELS];
	int64_t expires; /* unix seconds; 0 never */
	int64_t created;
};

/* A traffic class of a network; unique by name in it, deleted with it. */
struct st_qos_class {
	int64_t id;
	int64_t network_id;
	char name[ST_NAME_MAX];
	uint64_t min_bps;
	uint64_t max_bps;
	uint32_t priority; /* 0-7 */
	uint32_t
	    minor; /* its HTB class minor number on every node: 2..0xfffe, unique in the network */
	int64_t created;
};

/* What a class applies to (see QosMatch in proto/netfn.proto); deleted with its class. */
struct st_qos_match {
	int64_t id;
	int64_t class_id;
	char protocol[8];       /* "tcp" | "udp" | "" any */
	char port[16];          /* "5201", "8000-8100", "" any */
	char peer[ST_NAME_MAX]; /* a node name, "" none */
	char cidr[ST_CIDR_MAX]; /* "" none */
};

/*
 * A flow filter on one node's overlay traffic (see FlowFilter in
 * proto/netfn.proto); deleted with its node or network. Ids are never
 * reused: an agent's flow cookies carry them.
 */
struct st_flow_filter {
	int64_t id;
	int64_t network_id;
	int64_t node_id;
	char name[ST_NAME_MAX]; /* "" none; unique in the network otherwise */
	char protocol[8];       /* "tcp" | "udp" | "icmp" | "" any */
	uint32_t dst_port;      /* 0 any */
	char src[ST_CIDR_MAX];  /* canonical "a.b.c.d/len"; "" any */
	char dst[ST_CIDR_MAX];
	char action[8]; /* "drop" | "allow" */
	uint32_t priority;
	int64_t created;
};

struct store;

typedef int (*store_network_cb)(void *ctx, const struct st_network *n);
typedef int (*store_node_cb)(void *ctx, const struct st_node *n);
typedef int (*store_section_cb)(void *ctx, const struct st_section *s);
typedef int (*store_join_token_cb)(void *ctx, const struct st_join_token *t);
typedef int (*store_api_token_cb)(void *ctx, const struct st_api_token *t);
typedef int (*store_audit_cb)(void *ctx, const struct st_audit *a);
typedef int (*store_fw_policy_cb)(void *ctx, const struct st_fw_policy *p);
typedef int (*store_fw_rule_cb)(void *ctx, const struct st_fw_rule *r);
typedef int (*store_lb_cb)(void *ctx, const struct st_lb *lb);
typedef int (*store_placement_cb)(void *ctx, const struct st_placement *p);
typedef int (*store_dns_record_cb)(void *ctx, const struct st_dns_record *r);
typedef int (*store_client_cb)(void *ctx, const struct st_client *c);
typedef int (*store_qos_class_cb)(void *ctx, const struct st_qos_class *c);
typedef int (*store_qos_match_cb)(void *ctx, const struct st_qos_match *m);
typedef int (*store_flow_filter_cb)(void *ctx, const struct st_flow_filter *f);

/* An engine: every operation of the interface. */
struct store_ops {
	const char *name;
	int (*open)(const char *dir, struct store **out);
	void (*close)(struct store *s);
	int (*begin)(struct store *s);
	int (*commit)(struct store *s);
	void (*rollback)(struct store *s);
	int (*schema_version)(struct store *s, int *out);
	int (*next_revision)(struct store *s, uint64_t *out);

	int (*network_insert)(struct store *s, struct st_network *n);
	int (*network_update)(struct store *s, const struct st_network *n);
	int (*network_delete)(struct store *s, int64_t id);
	int (*network_get)(struct store *s, const char *name, struct st_network *out);
	int (*network_get_id)(struct store *s, int64_t id, struct st_network *out);
	int (*network_list)(struct store *s, store_network_cb cb, void *ctx);

	int (*node_insert)(struct store *s, struct st_node *n);
	int (*node_update)(struct store *s, const struct st_node *n);
	int (*node_touch)(struct store *s, int64_t id, int64_t last_seen, uint64_t counter);
	int (*node_delete)(struct store *s, int64_t id);
	int (*node_get)(struct store *s, int64_t network_id, const char *name, struct st_node *out);
	int (*node_get_id)(struct store *s, int64_t id, struct st_node *out);
	int (*node_get_key)(struct store *s, const uint8_t id_pk[ST_KEY_LEN], struct st_node *out);
	/* network_id 0: the nodes of every network. */
	int (*node_list)(struct store *s, int64_t network_id, store_node_cb cb, void *ctx);

	int (*section_put)(struct store *s, const struct st_section *sec);
	int (*section_get)(struct store *s, int64_t node_id, const char *function,
	                   struct st_section *out);
	int (*section_list)(struct store *s, int64_t node_id, store_section_cb cb, void *ctx);

	int (*join_token_insert)(struct store *s, const struct st_join_token *t);
	int (*join_token_update)(struct store *s, const struct st_join_token *t);
	int (*join_token_get)(struct store *s, const char *id, struct st_join_token *out);
	int (*join_token_get_hash)(struct store *s, const uint8_t hash[ST_HASH_LEN],
	                           struct st_join_token *out);
	int (*join_token_list)(struct store *s, store_join_token_cb cb, void *ctx);

	int (*api_token_insert)(struct store *s, const struct st_api_token *t);
	int (*api_token_update)(struct store *s, const struct st_api_token *t);
	int (*api_token_get_hash)(struct store *s, const uint8_t hash[ST_HASH_LEN],
	                          struct st_api_token *out);
	int (*api_token_get)(struct store *s, const char *id, struct st_api_token *out);
	int (*api_token_list)(struct store *s, store_api_token_cb cb, void *ctx);

	int (*audit_add)(struct store *s, struct st_audit *a);
	int (*audit_list)(struct store *s, uint32_t limit, store_audit_cb cb, void *ctx);

	/* Firewall policies: unique by name in their network, deleted with it. */
	int (*fw_policy_insert)(struct store *s, struct st_fw_policy *p);
	int (*fw_policy_update)(struct store *s, const struct st_fw_policy *p);
	/* Its rules go with it. */
	int (*fw_policy_delete)(struct store *s, int64_t id);
	int (*fw_policy_get)(struct store *s, int64_t network_id, const char *name,
	                     struct st_fw_policy *out);
	int (*fw_policy_get_id)(struct store *s, int64_t id, struct st_fw_policy *out);
	/* Ordered by id; network_id 0: the policies of every network. */
	int (*fw_policy_list)(struct store *s, int64_t network_id, store_fw_policy_cb cb,
	                      void *ctx);

	/*
	 * Inserts r at r->position (1-based), moving the rules from there on
	 * down one; position 0 or past the end appends. Sets r->id and
	 * r->position.
	 */
	int (*fw_rule_insert)(struct store *s, struct st_fw_rule *r);
	/* Rewrites r's fields; its policy and position stay. */
	int (*fw_rule_update)(struct store *s, const struct st_fw_rule *r);
	/* Deletes rule id, moving the rules after it up one. */
	int (*fw_rule_delete)(struct store *s, int64_t id);
	int (*fw_rule_get)(struct store *s, int64_t id, struct st_fw_rule *out);
	/* Ordered by position. */
	int (*fw_rule_list)(struct store *s, int64_t policy_id, store_fw_rule_cb cb, void *ctx);

	/* Load balancers: sets lb->id on insert. Delete also removes its placements. */
	int (*lb_insert)(struct store *s, struct st_lb *lb);
	int (*lb_update)(struct store *s, const struct st_lb *lb);
	int (*lb_delete)(struct store *s, int64_t id);
	int (*lb_get)(struct store *s, int64_t network_id, const char *name, struct st_lb *out);
	int (*lb_get_id)(struct store *s, int64_t id, struct st_lb *out);
	/* Ordered by id; network_id 0: the load balancers of every network. */
	int (*lb_list)(struct store *s, int64_t network_id, store_lb_cb cb, void *ctx);

	/* Placements: unique by (kind, object_id, slot); put inserts or replaces. */
	int (*placement_put)(struct store *s, const struct st_placement *p);
	int (*placement_delete)(struct store *s, const char *kind, int64_t object_id,
	                        uint32_t slot);
	/* Ordered by object_id, slot; object_id 0: every object of kind. */
	int (*placement_list)(struct store *s, const char *kind, int64_t object_id,
	                      store_placement_cb cb, void *ctx);

	/* DNS records: deleted with their network; sets r->id on insert. */
	int (*dns_record_insert)(struct store *s, struct st_dns_record *r);
	int (*dns_record_delete)(struct store *s, int64_t id);
	int (*dns_record_get)(struct store *s, int64_t id, struct st_dns_record *out);
	/* Ordered by name, type, id. */
	int (*dns_record_list)(struct store *s, int64_t network_id, store_dns_record_cb cb,
	                       void *ctx);

	/* Clients: deleted with their network (their placements too); sets c->id on insert. */
	int (*client_insert)(struct store *s, struct st_client *c);
	int (*client_delete)(struct store *s, int64_t id);
	int (*client_get)(struct store *s, int64_t network_id, const char *name,
	                  struct st_client *out);
	int (*client_get_id)(struct store *s, int64_t id, struct st_client *out);
	/* Ordered by id; network_id 0: the clients of every network. */
	int (*client_list)(struct store *s, int64_t network_id, store_client_cb cb, void *ctx);

	/* Traffic classes: sets c->id on insert; delete takes its matches along. */
	int (*qos_class_insert)(struct store *s, struct st_qos_class *c);
	int (*qos_class_delete)(struct store *s, int64_t id);
	int (*qos_class_get)(struct store *s, int64_t network_id, const char *name,
	                     struct st_qos_class *out);
	/* Ordered by priority, then id. */
	int (*qos_class_list)(struct store *s, int64_t network_id, store_qos_class_cb cb,
	                      void *ctx);
	/* Matches: sets m->id on insert. */
	int (*qos_match_insert)(struct store *s, struct st_qos_match *m);
	int (*qos_match_delete)(struct store *s, int64_t id);
	/* Ordered by id. */
	int (*qos_match_list)(struct store *s, int64_t class_id, store_qos_match_cb cb, void *ctx);

	/* Flow filters: sets f->id on insert (-EEXIST: the name is taken in the network). */
	int (*flow_insert)(struct store *s, struct st_flow_filter *f);
	int (*flow_delete)(struct store *s, int64_t id);
	int (*flow_get_id)(struct store *s, int64_t id, struct st_flow_filter *out);
	int (*flow_get_name)(struct store *s, int64_t network_id, const char *name,
	                     struct st_flow_filter *out);
	/* Ordered by id; node_id 0: the filters of every node of the network. */
	int (*flow_list)(struct store *s, int64_t network_id, int64_t node_id,
	                 store_flow_filter_cb cb, void *ctx);
};

/* Every engine's handle starts with its ops. */
struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;

/* Opens (creating and migrating as needed) the default engine's store in dir. */
int store_open(const char *dir, struct store **out);

/* Closes a store; accepts NULL. */
void store_close(struct store *s);

#endif
