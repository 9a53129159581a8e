package lab

import "fmt"

// A SettingError reports a configuration value outside its range. Field
// names the setting by its Go field in the configuration (Epochs, Batch,
// Hidden, LR, WeightDecay, Momentum, Holdout, TrainSize, TestSize, Jobs,
// Bins, Noise, Vocab, ValEvery, Context, Embed, Steps, FilterEps,
// ValTokens, ValPoints, LogEvery, Generate), so that a caller can name
// its own spelling of the setting (the command line's --flag) without
// reading the message.
type SettingError struct {
	Field string // the configuration field
	Words string // the setting in words: "learning rate"
	Value any    // the value given
	Want  string // the range it must be in: "≥ 1", "a positive number"
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("%s %v, want %s", e.Words, e.Value, e.Want)
}

func settingErr(field, words string, v any, want string) error {
	return &SettingError{Field: field, Words: words, Value: v, Want: want}
}
