package rest_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// postIDs posts bodies to queue q and returns the new ids in order.
func (a *api) postIDs(q string, bodies ...string) []string {
	a.t.Helper()
	var msgs []string
	for _, b := range bodies {
		msgs = append(msgs, `{"ttl":300,"body":`+b+`}`)
	}
	r := a.expect("POST", "/v2/queues/"+q+"/messages", `{"messages":[`+strings.Join(msgs, ",")+`]}`, 201)
	var doc struct{ Resources []string }
	if err := json.Unmarshal(r.body, &doc); err != nil {
		a.t.Fatal(err)
	}
	var ids []string
	for _, href := range doc.Resources {
		ids = append(ids, href[strings.LastIndex(href, "/")+1:])
	}
	return ids
}

// Queue stats name the oldest and newest message as Zaqar's Redis driver
// does: the message as a reader sees it, with its creation time.
func TestQueueStatsShowMessages(t *testing.T) {
	a := newAPI(t, nil)
	ids := a.postIDs("q", `{"n":1}`, `"second"`)
	r := a.expect("POST", "/v2/queues/q/claims?limit=1", `{"ttl":60,"grace":60}`, 201)
	claimID := r.header.Get("Location")
	claimID = claimID[strings.LastIndex(claimID, "/")+1:]

	st := a.expect("GET", "/v2/queues/q/stats", "", 200).json(t)["messages"].(map[string]any)
	oldest, newest := st["oldest"].(map[string]any), st["newest"].(map[string]any)
	for _, m := range []map[string]any{oldest, newest} {
		if _, ok := m["created"].(string); !ok {
			t.Errorf("no created in %v", m)
		}
		if _, ok := m["age"].(float64); !ok {
			t.Errorf("no age in %v", m)
		}
		if _, ok := m["id"]; ok {
			t.Errorf("REST names the message by href, not id: %v", m)
		}
		delete(m, "created")
		delete(m, "age")
	}
	equalJSON(t, mustJSON(oldest), `{"href":"/v2/queues/q/messages/`+ids[0]+`","body":{"n":1},"ttl":300,"claim_count":1,"claim_id":"`+claimID+`"}`)
	equalJSON(t, mustJSON(newest), `{"href":"/v2/queues/q/messages/`+ids[1]+`","body":"second","ttl":300,"claim_count":0,"claim_id":null}`)
}

// Get by ids answers in the order asked, as Zaqar's Redis driver.
func TestGetByIDsInOrderAsked(t *testing.T) {
	a := newAPI(t, nil)
	ids := a.postIDs("q", `"a"`, `"b"`, `"c"`)
	r := a.expect("GET", "/v2/queues/q/messages?ids="+ids[2]+","+ids[0]+","+ids[2], "", 200)
	var doc struct{ Messages []struct{ ID, Body string } }
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range doc.Messages {
		got = append(got, m.Body)
	}
	if strings.Join(got, ",") != "c,a" {
		t.Errorf("bodies = %v, want c,a (the order asked, each once)", got)
	}
}

// Numbers no reader can take back whole are refused with Zaqar's 400, in
// message bodies and in queue metadata, so every stored value can be read
// in JSON and MessagePack alike.
func TestUnencodableNumbersRefused(t *testing.T) {
	a := newAPI(t, nil)
	intDoc := `{"title":"Invalid request body","description":"JSON contains integer that is too large."}`
	floatDoc := `{"title":"Invalid request body","description":"JSON contains float that is too large."}`
	for _, tc := range []struct{ body, want string }{
		{`{"n":1e400}`, floatDoc},
		{`[-1.5E+309]`, floatDoc},
		{`99999999999999999999`, intDoc},
		{`{"a":[9223372036854775808]}`, intDoc},
	} {
		r := a.expect("POST", "/v2/queues/q/messages", `{"messages":[{"body":`+tc.body+`}]}`, 400)
		equalJSON(t, r.body, tc.want)
	}
	r := a.expect("PUT", "/v2/queues/meta", `{"x":1e400}`, 400)
	equalJSON(t, r.body, floatDoc)
	// At the limits, and inside strings, numbers are fine.
	a.expect("POST", "/v2/queues/q/messages",
		`{"messages":[{"body":[-9223372036854775808,9223372036854775807,1.7976931348623157e308,1e-400,"1e400"]}]}`, 201)
	if st := a.expect("GET", "/v2/queues/q/stats", "", 200).json(t)["messages"].(map[string]any); st["total"] != 1.0 {
		t.Errorf("stats = %v, want the one good message only", st)
	}
}
