// sarama-offsets asks a broker for a partition's oldest and newest offsets the way sarama-based
// monitors such as Burrow 1.x do: a client configured for Kafka 0.10.0, whose ListOffsets
// requests are version 0. It prints "oldest=N newest=M" and exits 0, or prints the error and
// exits 1.
//
//	sarama-offsets BOOTSTRAP TOPIC PARTITION
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/IBM/sarama"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sarama-offsets BOOTSTRAP TOPIC PARTITION")
		os.Exit(2)
	}
	partition, err := strconv.ParseInt(os.Args[3], 10, 32)
	if err != nil {
		fail(err)
	}
	config := sarama.NewConfig()
	// Before 0.10.1 sarama asks offsets with ListOffsets v0 (OffsetRequest.Version 0).
	config.Version = sarama.V0_10_0_0
	config.ClientID = "sarama-offsets"
	client, err := sarama.NewClient([]string{os.Args[1]}, config)
	if err != nil {
		fail(err)
	}
	defer client.Close()
	oldest, err := client.GetOffset(os.Args[2], int32(partition), sarama.OffsetOldest)
	if err != nil {
		fail(err)
	}
	newest, err := client.GetOffset(os.Args[2], int32(partition), sarama.OffsetNewest)
	if err != nil {
		fail(err)
	}
	// The same question with the request spelt out, so the version is certain.
	leader, err := client.Leader(os.Args[2], int32(partition))
	if err != nil {
		fail(err)
	}
	request := &sarama.OffsetRequest{Version: 0}
	request.AddBlock(os.Args[2], int32(partition), sarama.OffsetNewest, 1)
	response, err := leader.GetAvailableOffsets(request)
	if err != nil {
		fail(err)
	}
	block := response.GetBlock(os.Args[2], int32(partition))
	if block == nil || block.Err != sarama.ErrNoError || len(block.Offsets) != 1 || block.Offsets[0] != newest {
		fail(fmt.Errorf("v0 OffsetRequest answered %+v, expected one offset, %d", block, newest))
	}
	fmt.Printf("oldest=%d newest=%d\n", oldest, newest)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sarama-offsets:", err)
	os.Exit(1)
}
