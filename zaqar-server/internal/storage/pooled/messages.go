package pooled

import (
	"context"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// A name with no placement answers as a missing queue does in every driver.
type messageStore Store

func (ms *messageStore) Post(ctx context.Context, q zaqar.QueueRef, msgs []zaqar.NewMessage) ([]string, error) {
	st, err := (*Store)(ms).place(ctx, q, "")
	if err != nil {
		return nil, err
	}
	return st.Messages().Post(ctx, q, msgs)
}

func (ms *messageStore) List(ctx context.Context, q zaqar.QueueRef, opts storage.MessageListOptions) ([]zaqar.Message, error) {
	st, _, err := (*Store)(ms).route(ctx, q)
	if err != nil || st == nil {
		return []zaqar.Message{}, err
	}
	return st.Messages().List(ctx, q, opts)
}

func (ms *messageStore) Get(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Message, error) {
	st, _, err := (*Store)(ms).route(ctx, q)
	if err != nil || st == nil {
		return zaqar.Message{}, orMissing(err, storage.ErrMessageNotFound)
	}
	return st.Messages().Get(ctx, q, id)
}

func (ms *messageStore) GetMany(ctx context.Context, q zaqar.QueueRef, ids []string) ([]zaqar.Message, error) {
	st, _, err := (*Store)(ms).route(ctx, q)
	if err != nil || st == nil {
		return []zaqar.Message{}, err
	}
	return st.Messages().GetMany(ctx, q, ids)
}

func (ms *messageStore) Delete(ctx context.Context, q zaqar.QueueRef, id, claimID string) error {
	st, _, err := (*Store)(ms).route(ctx, q)
	if err != nil || st == nil {
		return err
	}
	return st.Messages().Delete(ctx, q, id, claimID)
}

func (ms *messageStore) DeleteMany(ctx context.Context, q zaqar.QueueRef, ids, claimIDs []string) error {
	st, _, err := (*Store)(ms).route(ctx, q)
	if err != nil || st == nil {
		return err
	}
	return st.Messages().DeleteMany(ctx, q, ids, claimIDs)
}

func (ms *messageStore) Pop(ctx context.Context, q zaqar.QueueRef, limit int) ([]zaqar.Message, error) {
	st, _, err := (*Store)(ms).route(ctx, q)
	if err != nil || st == nil {
		return []zaqar.Message{}, err
	}
	return st.Messages().Pop(ctx, q, limit)
}

func (ms *messageStore) Stats(ctx context.Context, q zaqar.QueueRef) (zaqar.Stats, error) {
	st, _, err := (*Store)(ms).route(ctx, q)
	if err != nil || st == nil {
		return zaqar.Stats{}, err
	}
	return st.Messages().Stats(ctx, q)
}
