package tensor

// The fast paths replace these on CPUs that support them.
var (
	matMulNT = refMatMulNT
	matMulNN = refMatMulNN
	matMulTN = refMatMulTN
)
