// SPDX-License-Identifier: Apache-2.0
/*
 * What both halves of the firewall share beyond the model in fw.h: freeing a
 * config. The controller half builds configs (fw_compile.c), the agent half
 * keeps the one it applied (fw_agent.c); both free them the same way.
 */
#include "netfns/firewall/fw.h"

#include <stdlib.h>
#include <string.h>

void fw_config_free(struct fw_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->rules && i < cfg->n_rules; i++) {
		free(cfg->rules[i].src);
		free(cfg->rules[i].dst);
		free(cfg->rules[i].ports);
	}
	free(cfg->rules);
	memset(cfg, 0, sizeof(*cfg));
}
