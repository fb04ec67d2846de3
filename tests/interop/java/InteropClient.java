// Apache Kafka's Java client (kafka-clients) for tests/interop/java_clients.py. One file, run through
// Java's single-file source launcher, so the interop check needs no build step:
//
//   java -cp "$(bash tests/kafka/kafka.sh classpath)" tests/interop/java/InteropClient.java CMD ...
//
//   produce BOOTSTRAP COUNT TOPIC:CODEC...
//       COUNT keyed records with headers to each topic with an idempotent acks=all producer using
//       that compression.type; once every send is acknowledged, one JSON line per record in send
//       order: {"topic","partition","offset","key","value","headers"}.
//   stream BOOTSTRAP TOPIC CODEC RATE CLIENT_ID
//       the same kind of records to TOPIC at about RATE a second until stdin closes, then the lines.
//   read BOOTSTRAP TIMEOUT_S TOPIC...
//       no group: every partition from the beginning up to the end offsets seen at start; one JSON
//       line per record as it is consumed.
//   read-committed BOOTSTRAP TIMEOUT_S TOPIC...
//       read with isolation.level=read_committed: up to the last stable offsets, without the
//       records of aborted transactions.
//   copy BOOTSTRAP FROM TO GROUP TRANSACTIONAL_ID
//       consume-transform-produce, exactly once: a read_committed member of GROUP copies FROM's
//       records to TO ("copy of " + value) in one transaction per poll, with the consumed offsets
//       committed in it (sendOffsetsToTransaction), until stdin closes; a JSON line
//       {"committed": N} after each commit.
//   member BOOTSTRAP TOPIC GROUP CLIENT_ID TIMEOUT_S
//       a classic consumer-group member (manual commitSync after each poll and on revocation)
//       until stdin closes, SIGTERM, or TIMEOUT_S; JSON lines for each record it consumed (with
//       the generation it was consumed in) and each assignment, revocation and commit.
//
// Any send error, read timeout or unexpected exception exits non-zero with the reason on stderr.
// Headers are written as [[key, value-or-null], ...] in record order; keys and values as UTF-8.

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class InteropClient {
  // Explicitly UTF-8 and flushed per line: the Python side reads the lines as they come.
  static final PrintStream OUT =
      new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

  public static void main(String[] args) throws Exception {
    if (args.length == 0) usage();
    String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
    try {
      switch (args[0]) {
        case "produce" -> produce(rest);
        case "stream" -> stream(rest);
        case "read" -> read(rest, "read_uncommitted");
        case "read-committed" -> read(rest, "read_committed");
        case "copy" -> copy(rest);
        case "member" -> member(rest);
        default -> usage();
      }
    } catch (Exception e) {
      System.err.println("InteropClient " + args[0] + " failed: " + e);
      e.printStackTrace();
      System.exit(1);
    }
    OUT.flush();
    // Daemon threads (the stdin watcher) must not keep the JVM alive.
    System.exit(0);
  }

  static void usage() {
    System.err.println(
        "usage: InteropClient produce BOOTSTRAP COUNT TOPIC:CODEC... | stream BOOTSTRAP TOPIC CODEC"
            + " RATE CLIENT_ID | read[-committed] BOOTSTRAP TIMEOUT_S TOPIC... | copy BOOTSTRAP FROM TO"
            + " GROUP TRANSACTIONAL_ID | member BOOTSTRAP TOPIC GROUP"
            + " CLIENT_ID TIMEOUT_S [classic|consumer]");
    System.exit(2);
  }

  // ---- producing ----

  record Sent(ProducerRecord<String, String> record, RecordMetadata meta) {}

  static KafkaProducer<String, String> producer(String bootstrap, String codec, String clientId) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", clientId);
    p.put("enable.idempotence", "true");
    p.put("acks", "all");
    p.put("compression.type", codec);
    // Batches of many records, so each codec compresses real multi-record batches.
    p.put("linger.ms", "20");
    // Bounded: a broker that never answers fails the run instead of hanging it.
    p.put("request.timeout.ms", "10000");
    p.put("delivery.timeout.ms", "30000");
    p.put("max.block.ms", "30000");
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  // Record i of a run: `keys` keys, so each key's records land in one partition in send order,
  // and headers that exercise repeats, order, an empty value and a null value.
  static ProducerRecord<String, String> record(String topic, String codec, int keys, int i) {
    String key = "host-" + (i % keys);
    String value = "cpu,host=" + key + ",codec=" + codec + " usage_idle=" + i + "i,temp=\"21.5°C\"";
    List<Header> headers = new ArrayList<>();
    headers.add(new RecordHeader("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8)));
    headers.add(new RecordHeader("codec", codec.getBytes(StandardCharsets.UTF_8)));
    headers.add(new RecordHeader("hop", "agent".getBytes(StandardCharsets.UTF_8)));
    headers.add(new RecordHeader("hop", "relay-é".getBytes(StandardCharsets.UTF_8)));
    headers.add(new RecordHeader("empty", new byte[0]));
    headers.add(new RecordHeader("nil", null));
    return new ProducerRecord<>(topic, null, key, value, headers);
  }

  // Sends through `producer`, remembering the first failure; the caller fails the run on it.
  static void send(
      KafkaProducer<String, String> producer,
      ProducerRecord<String, String> r,
      List<Sent> sent,
      AtomicReference<Exception> failure) {
    int slot;
    synchronized (sent) {
      slot = sent.size();
      sent.add(null);
    }
    producer.send(
        r,
        (meta, e) -> {
          if (e != null) {
            failure.compareAndSet(null, e);
            return;
          }
          synchronized (sent) {
            sent.set(slot, new Sent(r, meta));
          }
        });
  }

  static void finish(
      KafkaProducer<String, String> producer, List<Sent> sent, AtomicReference<Exception> failure) {
    producer.flush();
    producer.close(Duration.ofSeconds(10));
    if (failure.get() != null) {
      throw new KafkaException("a send failed: " + failure.get(), failure.get());
    }
    synchronized (sent) {
      for (Sent s : sent) {
        if (s == null) throw new KafkaException("a send was never acknowledged");
        OUT.println(
            recordJson(
                s.record.topic(),
                s.meta.partition(),
                s.meta.offset(),
                s.record.key(),
                s.record.value(),
                s.record.headers(),
                null));
      }
    }
  }

  static void produce(String[] args) throws Exception {
    if (args.length < 3) usage();
    String bootstrap = args[0];
    int count = Integer.parseInt(args[1]);
    for (int t = 2; t < args.length; t++) {
      String[] tc = args[t].split(":", 2);
      List<Sent> sent = new ArrayList<>();
      AtomicReference<Exception> failure = new AtomicReference<>();
      // A producer per codec: compression.type is per producer.
      try (KafkaProducer<String, String> producer = producer(bootstrap, tc[1], "java-" + tc[1])) {
        for (int i = 0; i < count && failure.get() == null; i++) {
          send(producer, record(tc[0], tc[1], 13, i), sent, failure);
        }
        finish(producer, sent, failure);
      }
    }
  }

  static void stream(String[] args) throws Exception {
    if (args.length != 5) usage();
    String topic = args[1];
    String codec = args[2];
    double rate = Double.parseDouble(args[3]);
    CountDownLatch eof = stdinClosed();
    List<Sent> sent = new ArrayList<>();
    AtomicReference<Exception> failure = new AtomicReference<>();
    try (KafkaProducer<String, String> producer = producer(args[0], codec, args[4])) {
      long start = System.nanoTime();
      for (int i = 0; eof.getCount() > 0 && failure.get() == null; i++) {
        // More keys than a group topic has partitions, so that every partition gets records.
        send(producer, record(topic, codec, 64, i), sent, failure);
        long due = start + (long) ((i + 1) * 1e9 / rate);
        long wait = due - System.nanoTime();
        if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      }
      finish(producer, sent, failure);
    }
  }

  // ---- consuming ----

  static Properties consumerProps(String bootstrap, String clientId) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", clientId);
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    p.put("request.timeout.ms", "10000");
    p.put("default.api.timeout.ms", "20000");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    return p;
  }

  static void read(String[] args, String isolation) {
    if (args.length < 3) usage();
    long deadline = System.nanoTime() + Long.parseLong(args[1]) * 1_000_000_000L;
    Properties props = consumerProps(args[0], "java-reader");
    props.put("isolation.level", isolation);
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (int t = 2; t < args.length; t++) {
        for (PartitionInfo info : consumer.partitionsFor(args[t])) {
          parts.add(new TopicPartition(info.topic(), info.partition()));
        }
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> ends = consumer.endOffsets(parts);
      while (true) {
        boolean done = true;
        for (TopicPartition tp : parts) done &= consumer.position(tp) >= ends.get(tp);
        if (done) return;
        if (System.nanoTime() > deadline) {
          Map<TopicPartition, Long> at = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
          for (TopicPartition tp : parts) at.put(tp, consumer.position(tp));
          throw new KafkaException("timed out at positions " + at + ", end offsets " + ends);
        }
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          OUT.println(
              recordJson(r.topic(), r.partition(), r.offset(), r.key(), r.value(), r.headers(), null));
        }
      }
    }
  }

  static void copy(String[] args) throws Exception {
    if (args.length != 5) usage();
    CountDownLatch eof = stdinClosed();
    Properties c = consumerProps(args[0], "java-copier");
    c.put("group.id", args[3]);
    c.put("isolation.level", "read_committed");
    c.put("max.poll.records", "100");
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("client.id", "java-copier");
    p.put("transactional.id", args[4]);
    p.put("request.timeout.ms", "10000");
    p.put("delivery.timeout.ms", "30000");
    p.put("max.block.ms", "30000");
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c);
        KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      producer.initTransactions();
      consumer.subscribe(List.of(args[1]));
      while (eof.getCount() > 0) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
        if (records.isEmpty()) continue;
        producer.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, String> r : records) {
          producer.send(new ProducerRecord<>(args[2], r.key(), "copy of " + r.value()));
          offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        // Open long enough that a kill lands inside a transaction now and then.
        Thread.sleep(50);
        producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        producer.commitTransaction();
        OUT.println("{\"committed\":" + records.count() + "}");
      }
    }
  }

  static void member(String[] args) throws Exception {
    if (args.length != 5 && args.length != 6) usage();
    String topic = args[1];
    String protocol = args.length == 6 ? args[5] : "classic";
    Properties p = consumerProps(args[0], args[3]);
    p.put("group.id", args[2]);
    p.put("group.protocol", protocol);
    if (protocol.equals("classic")) {
      // The broker's minimum is 6 s (Kafka's group.min.session.timeout.ms); a member that dies
      // is noticed within a test's time, not after the default 45 s. With the consumer protocol
      // (KIP-848) the broker sets both, and the client refuses them.
      p.put("session.timeout.ms", "10000");
      p.put("heartbeat.interval.ms", "1000");
    }
    // Small polls: more commits, so more points where a rebalance can fall between two of them.
    p.put("max.poll.records", "50");
    long deadline = System.nanoTime() + Long.parseLong(args[4]) * 1_000_000_000L;
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p);
    CountDownLatch eof = stdinClosed();
    CountDownLatch finished = new CountDownLatch(1);
    Thread watcher =
        new Thread(
            () -> {
              try {
                eof.await();
              } catch (InterruptedException e) {
                return;
              }
              consumer.wakeup();
            });
    watcher.setDaemon(true);
    watcher.start();
    // SIGTERM: wake the poll, then let the loop below commit and leave before the JVM exits.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  eof.countDown();
                  try {
                    // Bounded: a member that failed before its loop never counts down.
                    finished.await(20, TimeUnit.SECONDS);
                  } catch (InterruptedException ignored) {
                  }
                }));
    // Offsets to commit: one past the last record this member consumed, per partition.
    Map<TopicPartition, OffsetAndMetadata> consumed = new HashMap<>();
    consumer.subscribe(
        List.of(topic),
        new ConsumerRebalanceListener() {
          @Override
          public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // The classic (eager) protocol revokes before rejoining, the consumer protocol
            // before the broker hands the partitions on: committing here is what keeps the
            // next owner from reading these records again.
            Map<TopicPartition, OffsetAndMetadata> mine = new HashMap<>();
            for (TopicPartition tp : partitions) {
              if (consumed.containsKey(tp)) mine.put(tp, consumed.get(tp));
            }
            commit(consumer, mine, "revoked");
            consumed.keySet().removeAll(partitions);
            OUT.println(event(consumer, "revoked", partitions));
          }

          @Override
          public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            OUT.println(event(consumer, "assigned", partitions));
          }

          @Override
          public void onPartitionsLost(Collection<TopicPartition> partitions) {
            consumed.keySet().removeAll(partitions);
            OUT.println(event(consumer, "lost", partitions));
          }
        });
    try {
      while (eof.getCount() > 0 && System.nanoTime() < deadline) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
        if (records.isEmpty()) continue;
        int generation = consumer.groupMetadata().generationId();
        Map<TopicPartition, OffsetAndMetadata> batch = new HashMap<>();
        for (ConsumerRecord<String, String> r : records) {
          OUT.println(
              recordJson(
                  r.topic(), r.partition(), r.offset(), r.key(), r.value(), r.headers(), generation));
          batch.put(
              new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        consumed.putAll(batch);
        commit(consumer, batch, "poll");
      }
    } catch (WakeupException stopping) {
      // stdin closed or SIGTERM: fall through to the final commit and leave.
    }
    try {
      try {
        commit(consumer, new HashMap<>(consumed), "close");
      } catch (WakeupException stillArmed) {
        // The watcher's wakeup came while the loop was not in poll() (it then ended on the
        // stdin check): it fires once, in the next blocking call, so the commit is retried.
        commit(consumer, new HashMap<>(consumed), "close");
      }
      // close() runs the revocation callback; what it would commit is committed already.
      consumed.clear();
      consumer.close(CloseOptions.timeout(Duration.ofSeconds(10)));
      OUT.println("{\"event\":\"closed\"}");
    } finally {
      finished.countDown();
    }
  }

  // commitSync; a refusal (the group moved on) is reported, not fatal: at-least-once lets the
  // next owner read those records again, and the Python side allows exactly that.
  static void commit(
      KafkaConsumer<String, String> consumer, Map<TopicPartition, OffsetAndMetadata> offsets, String why) {
    if (offsets.isEmpty()) return;
    int generation = consumer.groupMetadata().generationId();
    StringBuilder o = new StringBuilder("{");
    for (Map.Entry<Integer, Long> e : new TreeMap<>(partitionsOf(offsets)).entrySet()) {
      if (o.length() > 1) o.append(',');
      o.append('"').append(e.getKey()).append("\":").append(e.getValue());
    }
    o.append('}');
    String tail = ",\"why\":\"" + why + "\",\"generation\":" + generation + ",\"offsets\":" + o + "}";
    try {
      consumer.commitSync(offsets, Duration.ofSeconds(15));
      OUT.println("{\"event\":\"committed\"" + tail);
    } catch (WakeupException e) {
      // The stop request arrived during the commit; the final commit after the loop retries it.
      OUT.println("{\"event\":\"commit-failed\",\"error\":\"wakeup\"" + tail);
      throw e;
    } catch (KafkaException e) {
      OUT.println("{\"event\":\"commit-failed\",\"error\":" + str(e.toString()) + tail);
    }
  }

  static Map<Integer, Long> partitionsOf(Map<TopicPartition, OffsetAndMetadata> offsets) {
    Map<Integer, Long> m = new HashMap<>();
    offsets.forEach((tp, om) -> m.put(tp.partition(), om.offset()));
    return m;
  }

  static String event(
      KafkaConsumer<String, String> consumer, String what, Collection<TopicPartition> partitions) {
    List<Integer> ps = new ArrayList<>();
    for (TopicPartition tp : partitions) ps.add(tp.partition());
    ps.sort(null);
    var meta = consumer.groupMetadata();
    return "{\"event\":\""
        + what
        + "\",\"generation\":"
        + meta.generationId()
        + ",\"member_id\":"
        + str(meta.memberId())
        + ",\"partitions\":"
        + ps
        + "}";
  }

  // Counted down when stdin reaches end of file: the caller's way to say "stop".
  static CountDownLatch stdinClosed() {
    CountDownLatch eof = new CountDownLatch(1);
    Thread t =
        new Thread(
            () -> {
              try {
                while (System.in.read() != -1) {}
              } catch (IOException ignored) {
              }
              eof.countDown();
            });
    t.setDaemon(true);
    t.start();
    return eof;
  }

  // ---- JSON ----

  static String recordJson(
      String topic,
      int partition,
      long offset,
      String key,
      String value,
      Headers headers,
      Integer generation) {
    StringBuilder b = new StringBuilder("{");
    if (generation != null) b.append("\"generation\":").append(generation).append(',');
    b.append("\"topic\":").append(str(topic));
    b.append(",\"partition\":").append(partition);
    b.append(",\"offset\":").append(offset);
    b.append(",\"key\":").append(str(key));
    b.append(",\"value\":").append(str(value));
    b.append(",\"headers\":[");
    boolean first = true;
    for (Header h : headers) {
      if (!first) b.append(',');
      first = false;
      String v = h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
      b.append('[').append(str(h.key())).append(',').append(str(v)).append(']');
    }
    return b.append("]}").toString();
  }

  static String str(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }
}
