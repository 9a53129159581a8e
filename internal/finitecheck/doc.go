// Package finitecheck holds no code, only tests: that no registered loss
// (package loss and package embedding) returns a non-finite value, row
// value or gradient for finite inputs and finite parameters it accepts.
// A loss may refuse an input or a parameter with an error; what it
// accepts, it must compute to a finite result.
package finitecheck
