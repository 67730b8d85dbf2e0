/* SPDX-License-Identifier: MIT */
/* attach_api.c - the unit tests' libcostack: the core and the API, without dumps or a trace. */
#include "api.h"
#include "core.h"

/* The core calls it once its settings are read, as libcostack.so's attach.c does. */
void costack_attach(void)
{
	api_attach();
}
