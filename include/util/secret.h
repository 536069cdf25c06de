/*
 * The secret store: the "secret" objects that --object defines (passwords
 * and encryption keys), kept by id for the life of the process so that
 * whoever needs one (the LUKS and qcow2 encryption drivers, through their
 * key-secret options) can look it up without knowing which front end took
 * it from the command line.
 *
 * Only the "secret" type exists; anything else is refused with the
 * reference's words. Nothing here prints: a help request comes back as
 * text for the front end to print.
 */
#ifndef UTIL_SECRET_H
#define UTIL_SECRET_H

#include "util/osdep.h"

/*
 * Handles one --object argument, "secret,id=ID,data=STR|file=PATH
 * [,format=raw|base64]" in keyval syntax (a leading bare word is the
 * type). Returns true on success. A request for help ("help" or "?" as the
 * type or as a parameter) adds nothing and sets *help to the text to print
 * (the list of types or the secret's properties); otherwise *help is NULL.
 * On failure errp holds the reference's message (a missing or malformed
 * id, an unknown parameter, a duplicate id, an unreadable file, bad
 * base64, ...).
 */
bool secret_object_add(const char *optarg, const char **help, Error **errp);

/*
 * The bytes of the secret with this id, after format=base64 decoding; they
 * stay valid until secret_store_clear. False with "No secret with id 'ID'"
 * in errp (errp may be NULL) if there is none.
 */
bool secret_lookup(const char *id, const uint8_t **data, size_t *len,
                   Error **errp);

/* Forgets every secret (their bytes are wiped first). */
void secret_store_clear(void);

#endif
