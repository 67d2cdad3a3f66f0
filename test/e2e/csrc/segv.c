#include <stdio.h>

int main(void) {
	volatile int *p = (int *)0;
	printf("about to fault\n");
	fflush(stdout);
	return *p;
}
