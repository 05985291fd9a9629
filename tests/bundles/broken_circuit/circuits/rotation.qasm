OPENQASM 3.0;
include "stdgates.inc";
input float theta;
qubit[1] q;
rx(theta) q[0];
