// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the traffic classes API, through the real dispatcher over
 * nng's inproc transport with a store in a temp dir: a class needs the
 * network's link rate; every refusal names its field and stores nothing
 * (no class, no audit entry); rates are canonical and checked against each
 * other and the link; matches checked (protocol, port, peer, cidr) and
 * removed by id; the link rate cannot drop below what the classes need or
 * be unset while there are classes; list and show; every node's qos
 * section moving with each change; a reader may only read.
 */
#include "controller/api_test_util.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <string.h>

static struct api_test api;

static void link_set(const char *network, const char *rate)
{
	Netfn__QosLink l = NETFN__QOS_LINK__INIT;

	l.network = (char *)network;
	l.rate = (char *)rate;
	api_test_done(
	    api_test_call(&api, api.admin, "qos.link", &l.base, &netfn__empty__descriptor));
}

static Netfn__QosClass *create(const char *token, const char *name, const char *min,
                               const char *max, uint32_t priority, Netfn__QosMatch *match)
{
	Netfn__QosClass c = NETFN__QOS_CLASS__INIT;

	c.name = (char *)name;
	c.min_rate = (char *)min;
	c.max_rate = (char *)max;
	c.priority = priority;
	if (match) {
		c.matches = &match;
		c.n_matches = 1;
	}
	return (Netfn__QosClass *)api_test_call(&api, token, "qos.class_create", &c.base,
	                                        &netfn__qos_class__descriptor);
}

static Netfn__QosClass *assign(const char *cls, const char *protocol, const char *port,
                               const char *peer, const char *cidr)
{
	Netfn__QosAssign a = NETFN__QOS_ASSIGN__INIT;
	Netfn__QosMatch m = NETFN__QOS_MATCH__INIT;

	m.protocol = (char *)protocol;
	m.port = (char *)port;
	m.peer = (char *)peer;
	m.cidr = (char *)cidr;
	a.class_ = (char *)cls;
	a.match = &m;
	return (Netfn__QosClass *)api_test_call(&api, api.admin, "qos.assign", &a.base,
	                                        &netfn__qos_class__descriptor);
}

/* A refused create stores nothing: no new audit entry. */
static void refused_create(const char *name, const char *min, const char *max, uint32_t prio,
                           Netfn__QosMatch *match, int code, const char *field)
{
	int audits = api_test_audits(&api);

	api_test_done(create(api.admin, name, min, max, prio, match));
	CHECK(api_test_failed(&api, code, field));
	CHECK(api_test_audits(&api) == audits);
}

static void refused_assign(const char *protocol, const char *port, const char *peer,
                           const char *cidr, const char *field)
{
	int audits = api_test_audits(&api);

	api_test_done(assign("gold", protocol, port, peer, cidr));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, field) ||
	      api_test_failed(&api, NETFN__STATUS__NOT_FOUND, field));
	CHECK(api_test_audits(&api) == audits);
}

int main(void)
{
	Netfn__QosMatch m = NETFN__QOS_MATCH__INIT;
	Netfn__NodeListRequest lr = NETFN__NODE_LIST_REQUEST__INIT;
	Netfn__QosMatchRef mref = NETFN__QOS_MATCH_REF__INIT;
	Netfn__QosClassList *list;
	Netfn__QosClass *c;
	uint64_t rev_a, rev_b;
	int64_t a, b;

	if (api_test_start(&api, "qos"))
		return 1;
	api_test_network_create(&api, "prod", "10.9.0.0/16");
	a = api_test_node_add(&api, "prod", "n1", "10.9.0.1", NULL);
	b = api_test_node_add(&api, "prod", "n2", "10.9.0.2", NULL);

	/* No link rate yet. */
	refused_create("gold", "10mbit", "", 0, NULL, NETFN__STATUS__FAILED_PRECONDITION,
	               "link_rate");
	link_set("prod", "fast");
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "rate"));
	rev_a = api_test_rev(&api, a, "qos");
	link_set("prod", "100mbit");
	CHECK(api.st.code == NETFN__STATUS__OK);
	/* A link rate with no class shapes nothing: the section does not move. */
	CHECK(api_test_rev(&api, a, "qos") == rev_a);

	/* Refusals, each naming its field. */
	refused_create("Gold!", "10mbit", "", 0, NULL, NETFN__STATUS__INVALID_ARGUMENT, "name");
	refused_create("gold", "", "", 0, NULL, NETFN__STATUS__INVALID_ARGUMENT, "min_rate");
	refused_create("gold", "ten", "", 0, NULL, NETFN__STATUS__INVALID_ARGUMENT, "min_rate");
	refused_create("gold", "10mbit", "5mbit", 0, NULL, NETFN__STATUS__INVALID_ARGUMENT,
	               "min_rate");
	refused_create("gold", "10mbit", "200mbit", 0, NULL, NETFN__STATUS__INVALID_ARGUMENT,
	               "max_rate");
	refused_create("gold", "10mbit", "", 8, NULL, NETFN__STATUS__INVALID_ARGUMENT, "priority");
	m.protocol = "tcp";
	m.port = "0";
	refused_create("gold", "10mbit", "", 0, &m, NETFN__STATUS__INVALID_ARGUMENT,
	               "matches[0].port");
	c = create(api.reader, "gold", "10mbit", "", 0, NULL);
	CHECK(c == NULL && api.st.code != NETFN__STATUS__OK);

	/* A class with an initial match; its max defaults to the link. */
	m.port = "5201";
	c = create(api.admin, "gold", "10000000", "50mbit", 1, &m);
	CHECK(c && !strcmp(c->min_rate, "10mbit") && !strcmp(c->max_rate, "50mbit") &&
	      c->min_bps == 10000000 && c->max_bps == 50000000 && c->priority == 1 &&
	      c->n_matches == 1 && !strcmp(c->matches[0]->port, "5201") && c->matches[0]->id);
	api_test_done(c);
	CHECK(api_test_rev(&api, a, "qos") > rev_a && api_test_rev(&api, b, "qos") > 0);
	c = create(api.admin, "silver", "20mbit", "", 3, NULL);
	CHECK(c && c->max_bps == 100000000 && !strcmp(c->max_rate, "100mbit"));
	api_test_done(c);
	refused_create("gold", "1mbit", "", 0, NULL, NETFN__STATUS__ALREADY_EXISTS, "name");
	refused_create("bronze", "80mbit", "", 0, NULL, NETFN__STATUS__INVALID_ARGUMENT,
	               "min_rate");

	/* Matches. */
	refused_assign("", "", "", "", "match");
	refused_assign("icmp", "", "", "", "match.protocol");
	refused_assign("tcp", "0", "", "", "match.port");
	refused_assign("any", "80", "", "", "match.port");
	refused_assign("udp", "90-80", "", "", "match.port");
	refused_assign("", "", "nobody", "", "match.peer");
	refused_assign("", "", "", "10.1.0.0/33", "match.cidr");
	refused_assign("", "", "", "10.1.0.1/16", "match.cidr");
	rev_b = api_test_rev(&api, b, "qos");
	c = assign("gold", "udp", "8000-8100", "n1", "");
	CHECK(c && c->n_matches == 2 && !strcmp(c->matches[1]->peer, "n1") &&
	      !strcmp(c->matches[1]->protocol, "udp") && !strcmp(c->matches[1]->port, "8000-8100"));
	if (c && c->n_matches == 2)
		mref.id = c->matches[1]->id;
	api_test_done(c);
	/* n2 sends to n1 through the class; n1's own section keeps no match to itself. */
	CHECK(api_test_rev(&api, b, "qos") > rev_b);
	c = assign("silver", "any", "", "", "192.168.0.0/24");
	CHECK(c && c->n_matches == 1 && !strcmp(c->matches[0]->cidr, "192.168.0.0/24") &&
	      !c->matches[0]->protocol[0]);
	api_test_done(c);

	/* The link cannot drop below what the classes need, nor go while they are there. */
	link_set("prod", "40mbit");
	CHECK(api_test_failed(&api, NETFN__STATUS__FAILED_PRECONDITION, "rate"));
	link_set("prod", "");
	CHECK(api_test_failed(&api, NETFN__STATUS__FAILED_PRECONDITION, "rate"));
	link_set("prod", "1gbit");
	CHECK(api.st.code == NETFN__STATUS__OK);

	/* List and show. */
	list = (Netfn__QosClassList *)api_test_call(&api, api.reader, "qos.class_list", &lr.base,
	                                            &netfn__qos_class_list__descriptor);
	CHECK(list && !strcmp(list->link_rate, "1gbit") && list->n_classes == 2 &&
	      !strcmp(list->classes[0]->name, "gold") && list->classes[0]->n_matches == 2);
	api_test_done(list);
	c = (Netfn__QosClass *)api_test_call_ref(&api, api.reader, "qos.class_show", "silver", "",
	                                         &netfn__qos_class__descriptor);
	CHECK(c && !strcmp(c->network, "prod") && c->n_matches == 1 && c->n_counters == 0);
	api_test_done(c);
	api_test_done(api_test_call_ref(&api, api.reader, "qos.class_show", "iron", "",
	                                &netfn__qos_class__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));

	/* Unassign by id. */
	mref.class_ = "gold";
	mref.network = "prod";
	api_test_done(
	    api_test_call(&api, api.admin, "qos.unassign", &mref.base, &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK);
	api_test_done(
	    api_test_call(&api, api.admin, "qos.unassign", &mref.base, &netfn__empty__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "id"));

	/* Deleting every class empties the sections; then the link may go. */
	api_test_done(api_test_call_ref(&api, api.admin, "qos.class_delete", "gold", "prod",
	                                &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK);
	api_test_done(api_test_call_ref(&api, api.admin, "qos.class_delete", "silver", "",
	                                &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK);
	api_test_done(api_test_call_ref(&api, api.admin, "qos.class_delete", "silver", "",
	                                &netfn__empty__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));
	link_set("prod", "0");
	CHECK(api.st.code == NETFN__STATUS__OK);

	api_test_stop(&api);
	return check_result();
}
