/* Forward declarations of the types that cross module boundaries. */
#ifndef UTIL_TYPEDEFS_H
#define UTIL_TYPEDEFS_H

typedef struct AioContext AioContext;
typedef struct BdrvChild BdrvChild;
typedef struct BlockBackend BlockBackend;
typedef struct BlockDriver BlockDriver;
typedef struct BlockDriverState BlockDriverState;
typedef struct CoMutex CoMutex;
typedef struct CoQueue CoQueue;
typedef struct CoRwlock CoRwlock;
typedef struct Coroutine Coroutine;
typedef struct Error Error;
typedef struct QBool QBool;
typedef struct QDict QDict;
typedef struct QEMUIOVector QEMUIOVector;
typedef struct QEMUTimer QEMUTimer;
typedef struct QList QList;
typedef struct QNull QNull;
typedef struct QNum QNum;
typedef struct QObject QObject;
typedef struct QString QString;
typedef struct QemuOpt QemuOpt;
typedef struct QemuOpts QemuOpts;
typedef struct QemuOptsList QemuOptsList;
typedef struct StrBuf StrBuf;

#endif
