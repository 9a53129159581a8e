package data_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/xentlab/xent/data"
)

func Example() {
	// A CSV file with a header line and text labels in the last column.
	const train = `length,width,species
1.4,0.2,setosa
4.7,1.4,versicolor
1.3,0.2,setosa
4.5,1.5,versicolor
`
	s, err := data.ReadCSV(strings.NewReader(train), data.CSVOptions{Label: -1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Rows, s.Cols, s.Classes, s.ClassNames, s.Y)

	// The test file is read with the training classes, so the mapping
	// holds even though it has only one of them.
	test, err := data.ReadCSV(strings.NewReader("length,width,species\n4.0,1.3,versicolor\n"),
		data.CSVOptions{Label: -1, Classes: s.ClassNames})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(test.Y)

	// Standardize with the training statistics; shuffle and split.
	sc, err := data.FitScaler(s)
	if err != nil {
		log.Fatal(err)
	}
	sc.Apply(s)
	sc.Apply(test)
	fmt.Printf("%.2f\n", test.Row(0))
	fit, val := s.Shuffle(1).Split(3)
	fmt.Println(fit.Rows, val.Rows)

	// A bad value is reported with its line and column.
	_, err = data.ReadCSV(strings.NewReader("y,a\n1,2\n0,two\n"), data.CSVOptions{})
	fmt.Println(err)
	// Output:
	// 4 2 2 [setosa versicolor] [0 1 0 1]
	// [1]
	// [0.63 0.76]
	// 3 1
	// data: csv line 3, column 3 (field 2 "a"): "two" is not a number: malformed data
}
