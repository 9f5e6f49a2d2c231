package jpegdec

// qeStates is the probability estimation state machine of the JPEG arithmetic coder (ITU-T T.81
// Table D.2): per state, the LPS probability estimate Qe, the next state after an MPS and after
// an LPS, and whether an LPS swaps the meaning of MPS. State 113 is the fixed 0.5 estimate
// libjpeg uses for sign and refinement bits (ITU-T T.851).
var qeStates = [114]struct {
	qe         uint16
	nmps, nlps uint8
	swap       bool
}{
	{0x5a1d, 1, 1, true}, {0x2586, 2, 14, false}, {0x1114, 3, 16, false},
	{0x080b, 4, 18, false}, {0x03d8, 5, 20, false}, {0x01da, 6, 23, false},
	{0x00e5, 7, 25, false}, {0x006f, 8, 28, false}, {0x0036, 9, 30, false},
	{0x001a, 10, 33, false}, {0x000d, 11, 35, false}, {0x0006, 12, 9, false},
	{0x0003, 13, 10, false}, {0x0001, 13, 12, false}, {0x5a7f, 15, 15, true},
	{0x3f25, 16, 36, false}, {0x2cf2, 17, 38, false}, {0x207c, 18, 39, false},
	{0x17b9, 19, 40, false}, {0x1182, 20, 42, false}, {0x0cef, 21, 43, false},
	{0x09a1, 22, 45, false}, {0x072f, 23, 46, false}, {0x055c, 24, 48, false},
	{0x0406, 25, 49, false}, {0x0303, 26, 51, false}, {0x0240, 27, 52, false},
	{0x01b1, 28, 54, false}, {0x0144, 29, 56, false}, {0x00f5, 30, 57, false},
	{0x00b7, 31, 59, false}, {0x008a, 32, 60, false}, {0x0068, 33, 62, false},
	{0x004e, 34, 63, false}, {0x003b, 35, 32, false}, {0x002c, 9, 33, false},
	{0x5ae1, 37, 37, true}, {0x484c, 38, 64, false}, {0x3a0d, 39, 65, false},
	{0x2ef1, 40, 67, false}, {0x261f, 41, 68, false}, {0x1f33, 42, 69, false},
	{0x19a8, 43, 70, false}, {0x1518, 44, 72, false}, {0x1177, 45, 73, false},
	{0x0e74, 46, 74, false}, {0x0bfb, 47, 75, false}, {0x09f8, 48, 77, false},
	{0x0861, 49, 78, false}, {0x0706, 50, 79, false}, {0x05cd, 51, 48, false},
	{0x04de, 52, 50, false}, {0x040f, 53, 50, false}, {0x0363, 54, 51, false},
	{0x02d4, 55, 52, false}, {0x025c, 56, 53, false}, {0x01f8, 57, 54, false},
	{0x01a4, 58, 55, false}, {0x0160, 59, 56, false}, {0x0125, 60, 57, false},
	{0x00f6, 61, 58, false}, {0x00cb, 62, 59, false}, {0x00ab, 63, 61, false},
	{0x008f, 32, 61, false}, {0x5b12, 65, 65, true}, {0x4d04, 66, 80, false},
	{0x412c, 67, 81, false}, {0x37d8, 68, 82, false}, {0x2fe8, 69, 83, false},
	{0x293c, 70, 84, false}, {0x2379, 71, 86, false}, {0x1edf, 72, 87, false},
	{0x1aa9, 73, 87, false}, {0x174e, 74, 72, false}, {0x1424, 75, 72, false},
	{0x119c, 76, 74, false}, {0x0f6b, 77, 74, false}, {0x0d51, 78, 75, false},
	{0x0bb6, 79, 77, false}, {0x0a40, 48, 77, false}, {0x5832, 81, 80, true},
	{0x4d1c, 82, 88, false}, {0x438e, 83, 89, false}, {0x3bdd, 84, 90, false},
	{0x34ee, 85, 91, false}, {0x2eae, 86, 92, false}, {0x299a, 87, 93, false},
	{0x2516, 71, 86, false}, {0x5570, 89, 88, true}, {0x4ca9, 90, 95, false},
	{0x44d9, 91, 96, false}, {0x3e22, 92, 97, false}, {0x3824, 93, 99, false},
	{0x32b4, 94, 99, false}, {0x2e17, 86, 93, false}, {0x56a8, 96, 95, true},
	{0x4f46, 97, 101, false}, {0x47e5, 98, 102, false}, {0x41cf, 99, 103, false},
	{0x3c3d, 100, 104, false}, {0x375e, 93, 99, false}, {0x5231, 102, 105, false},
	{0x4c0f, 103, 106, false}, {0x4639, 104, 107, false}, {0x415e, 99, 103, false},
	{0x5627, 106, 105, true}, {0x50e7, 107, 108, false}, {0x4b85, 103, 109, false},
	{0x5597, 109, 110, false}, {0x504f, 107, 111, false}, {0x5a10, 111, 110, true},
	{0x5522, 109, 112, false}, {0x59eb, 111, 112, true}, {0x5a1d, 113, 113, false},
}
