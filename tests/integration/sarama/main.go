// sarama_check: produces records with Shopify/sarama (Debian's golang-github-shopify-sarama-dev)
// to a new topic and reads them back, for tests/integration/test_sarama.py.
// Usage: sarama_check <bootstrap> <topic> <codec> <partitions> <records>
// Prints "OK <n>" and exits 0, or prints the problem and exits 1.
package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/Shopify/sarama"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func codecOf(name string) sarama.CompressionCodec {
	switch name {
	case "gzip":
		return sarama.CompressionGZIP
	case "snappy":
		return sarama.CompressionSnappy
	case "lz4":
		return sarama.CompressionLZ4
	case "zstd":
		return sarama.CompressionZSTD
	}
	return sarama.CompressionNone
}

func main() {
	if len(os.Args) != 6 {
		fail("usage: sarama_check bootstrap topic codec partitions records")
	}
	brokers := []string{os.Args[1]}
	topic := os.Args[2]
	partitions, _ := strconv.Atoi(os.Args[4])
	records, _ := strconv.Atoi(os.Args[5])

	config := sarama.NewConfig()
	config.Version = sarama.V2_1_0_0 // Produce v7 / Fetch v10: record headers and zstd.
	config.ClientID = "sluice-sarama"
	config.Net.DialTimeout = 10 * time.Second
	config.Net.ReadTimeout = 15 * time.Second
	config.Net.WriteTimeout = 15 * time.Second
	config.Metadata.Retry.Max = 5
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Return.Successes = true
	config.Producer.Compression = codecOf(os.Args[3])
	config.Producer.Partitioner = sarama.NewManualPartitioner
	config.Producer.Flush.Messages = 50
	// sarama sends a set once it holds Flush.Messages, but keeps adding while the previous set is
	// still in flight, so sets can be larger; without a timer the last remainder (under 50)
	// would then wait forever for more input.
	config.Producer.Flush.Frequency = 10 * time.Millisecond
	config.Consumer.Return.Errors = true

	admin, err := sarama.NewClusterAdmin(brokers, config)
	if err != nil {
		fail("cluster admin: %v", err)
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: 1}, false)
	if err != nil {
		fail("create topic: %v", err)
	}
	admin.Close()

	producer, err := sarama.NewAsyncProducer(brokers, config)
	if err != nil {
		fail("producer: %v", err)
	}
	base := time.Unix(1700000000, 0)
	type key struct{ p int32; o int64 }
	sent := map[key]int{}
	go func() {
		for i := 0; i < records; i++ {
			producer.Input() <- &sarama.ProducerMessage{
				Topic:     topic,
				Partition: int32(i % partitions),
				Key:       sarama.StringEncoder(fmt.Sprintf("key-%d", i)),
				Value:     sarama.ByteEncoder(bytes.Repeat([]byte(fmt.Sprintf("v%d|", i)), 1+i%7)),
				Headers:   []sarama.RecordHeader{{Key: []byte("i"), Value: []byte(strconv.Itoa(i))}},
				Timestamp: base.Add(time.Duration(i) * time.Millisecond),
				Metadata:  i,
			}
		}
	}()
	deadline := time.After(60 * time.Second)
	for n := 0; n < records; n++ {
		select {
		case m := <-producer.Successes():
			sent[key{m.Partition, m.Offset}] = m.Metadata.(int)
		case e := <-producer.Errors():
			fail("produce: %v", e.Err)
		case <-deadline:
			fail("produce: %d of %d acknowledged after 60s", n, records)
		}
	}
	producer.Close()

	consumer, err := sarama.NewConsumer(brokers, config)
	if err != nil {
		fail("consumer: %v", err)
	}
	defer consumer.Close()
	got := 0
	for p := 0; p < partitions; p++ {
		want := 0
		for k := range sent {
			if k.p == int32(p) {
				want++
			}
		}
		pc, err := consumer.ConsumePartition(topic, int32(p), sarama.OffsetOldest)
		if err != nil {
			fail("consume partition %d: %v", p, err)
		}
		next := int64(0)
		timeout := time.After(30 * time.Second)
		for int(next) < want {
			select {
			case m := <-pc.Messages():
				if m.Offset != next {
					fail("partition %d: offset %d, expected %d", p, m.Offset, next)
				}
				i, ok := sent[key{int32(p), m.Offset}]
				if !ok {
					fail("partition %d: unexpected offset %d", p, m.Offset)
				}
				wantValue := bytes.Repeat([]byte(fmt.Sprintf("v%d|", i)), 1+i%7)
				if string(m.Key) != fmt.Sprintf("key-%d", i) || !bytes.Equal(m.Value, wantValue) {
					fail("partition %d offset %d: key or value differs", p, m.Offset)
				}
				if len(m.Headers) != 1 || string(m.Headers[0].Value) != strconv.Itoa(i) {
					fail("partition %d offset %d: headers differ", p, m.Offset)
				}
				if !m.Timestamp.Equal(base.Add(time.Duration(i) * time.Millisecond)) {
					fail("partition %d offset %d: timestamp %v", p, m.Offset, m.Timestamp)
				}
				next++
				got++
			case e := <-pc.Errors():
				fail("partition %d: %v", p, e.Err)
			case <-timeout:
				fail("partition %d: %d of %d messages after 30s", p, next, want)
			}
		}
		pc.Close()
	}
	fmt.Printf("OK %d\n", got)
}
