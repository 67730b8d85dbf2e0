/* SPDX-License-Identifier: MIT */
/* api.h - the public costack.h API: what libcostack.so attaches of it to the core. */
#ifndef COSTACK_API_H
#define COSTACK_API_H

/* At load, settings read: the API observes the core (a fork child's print lock). */
void api_attach(void);

#endif
