// Package policytest holds Rego policies that tests of more than one package share.
package policytest

// Runaway is a policy whose evaluation would take minutes (ten billion iterations that never
// match), for the tests of evaluation deadlines and of cancelled contexts.
const Runaway = `package isms.runaway

violation contains {"msg": "never"} if {
	some i in numbers.range(1, 100000)
	some j in numbers.range(1, 100000)
	i == j + 100000
}`
