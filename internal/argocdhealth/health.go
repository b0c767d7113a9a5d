// Package argocdhealth runs Argo CD resource health scripts (Lua) the way Argo CD runs them, so
// that the scripts in config/argocd/resource_customizations are tested in CI without Argo CD:
// in github.com/yuin/gopher-lua (the VM Argo CD embeds), with the global obj set to the
// object, only the libraries Argo CD opens by default, and Argo CD's one-second budget. It
// also reads Argo CD's health_test.yaml format and renders the argocd-cm keys that install the
// scripts.
//
// Argo CD opens package, base and table, plus a restricted os library; the string library
// (string.format, s:find...) only for kinds listed in resource.customizations.useOpenLibs.
// Run opens package, base and table and not os: the scripts have no use for the clock, and a
// script that reached for os would then fail here instead of depending on Argo CD's
// restricted variant.
package argocdhealth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// The health status codes Argo CD accepts from a script; anything else reads as Unknown.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
	Suspended   = "Suspended"
	Missing     = "Missing"
	Unknown     = "Unknown"
)

var validStatuses = []string{Healthy, Progressing, Degraded, Suspended, Missing, Unknown}

// invalidStatusMessage is the message of the Unknown status given for a code Argo CD does not
// know.
const invalidStatusMessage = "the health script returned an invalid status"

// Timeout is how long Argo CD lets a health script run.
const Timeout = time.Second

// maxDepth bounds the nesting of the object handed to the VM: Kubernetes objects are far
// shallower, and the recursion must not be unbounded on hostile input.
const maxDepth = 64

// Status is what a health script returns, as Argo CD reads it.
type Status struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// Run executes script with obj (a decoded JSON object, as from the API server) as the global
// obj and returns the health it reports. An error means Argo CD would fail the assessment
// (the script raised an error, ran past Timeout, or returned no table).
func Run(script string, obj map[string]any) (Status, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	L.SetContext(ctx)
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return Status{}, fmt.Errorf("opening the %q library: %w", lib.name, err)
		}
	}
	value, err := toLua(L, obj, 0)
	if err != nil {
		return Status{}, err
	}
	L.SetGlobal("obj", value)
	if err := L.DoString(script); err != nil {
		return Status{}, fmt.Errorf("running the health script: %w", err)
	}
	table, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return Status{}, errors.New("the health script returned no table")
	}
	return statusOf(table), nil
}

// statusOf reads the returned table as Argo CD does: status and message strings, and Unknown
// for a status code it does not accept.
func statusOf(table *lua.LTable) Status {
	st := Status{Status: lua.LVAsString(table.RawGetString("status")), Message: lua.LVAsString(table.RawGetString("message"))}
	if !slices.Contains(validStatuses, st.Status) {
		return Status{Status: Unknown, Message: invalidStatusMessage}
	}
	return st
}

// toLua converts a decoded JSON value into Lua values: objects and arrays become tables
// (arrays indexed from 1), numbers LNumber, null nil.
func toLua(L *lua.LState, v any, depth int) (lua.LValue, error) {
	if depth > maxDepth {
		return lua.LNil, fmt.Errorf("object nested deeper than %d levels", maxDepth)
	}
	switch v := v.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(v), nil
	case string:
		return lua.LString(v), nil
	case float64:
		return lua.LNumber(v), nil
	case int64:
		return lua.LNumber(v), nil
	case int:
		return lua.LNumber(v), nil
	case json.Number:
		f, err := v.Float64()
		return lua.LNumber(f), err
	case map[string]any:
		t := L.NewTable()
		for k, item := range v {
			lv, err := toLua(L, item, depth+1)
			if err != nil {
				return lua.LNil, err
			}
			t.RawSetString(k, lv)
		}
		return t, nil
	case []any:
		t := L.NewTable()
		for _, item := range v {
			lv, err := toLua(L, item, depth+1)
			if err != nil {
				return lua.LNil, err
			}
			t.Append(lv)
		}
		return t, nil
	default:
		return lua.LNil, fmt.Errorf("unsupported value of type %T in the object", v)
	}
}
