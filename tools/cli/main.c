#include <stdio.h>
#include "edgeopt/edgeopt.h"
int main(void) { printf("edgeopt %s\n", EO_VERSION_STRING); return 0; }
