#include "textflag.h"

// func jumpTo(pc uintptr)
//
// jumpTo transfers control to pc without a return address. It is used only
// by the raw-cloned master stub to enter the stub code.
TEXT ·jumpTo(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ	pc+0(FP), AX
	JMP	AX
