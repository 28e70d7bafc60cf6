/// `GET /openapi.yaml`. Tests hold it to the server: every route and method here exists and
/// every route the router has is here; the status codes the tests provoke are listed for their
/// path; every field of a real response is in its schema and every required one is present.
let openAPIDocument = #"""
openapi: 3.0.3
info:
  title: zen serve
  version: "1"
  description: |
    ZEN 2.0 inference over HTTP. Requests that arrive together are run as one batch.
    Character offsets (`start`, `end`) count Unicode scalars of the original text; `end` is exclusive.
    For classification and embedding, texts longer than the server's max-seq-length are truncated as the
    reference truncates them; NER tags a longer text whole, in overlapping windows (unless the server
    runs with --long-texts truncate).
    `model` may be omitted when one model is loaded.

    Request bodies are JSON: `Content-Type: application/json` (a charset, if given, must be UTF-8), or no
    Content-Type at all; any other type is 415 before the body is read. Connections are held to the server's
    limits, whatever the path: each request must arrive whole within --read-timeout of the connection's start or of
    its previous answer, else 408 (a connection idle that long is closed without an answer); past --max-connections
    a new connection is answered 503 `too_many_connections` and closed; malformed HTTP (a bad chunk size, a
    Transfer-Encoding other than chunked) is 400 `invalid_http`. These, and 413 `body_too_large`, close the connection.
paths:
  /healthz:
    get:
      summary: Ready once every model is loaded.
      responses:
        "200":
          description: Serving.
          content:
            application/json:
              schema:
                type: object
                required: [status]
                properties:
                  status: {type: string, enum: [ok]}
        "405": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Timeout"}
  /metrics:
    get:
      summary: Prometheus text format (requests, latency histogram, batch sizes, queue depth).
      responses:
        "200":
          description: Metrics.
          content:
            text/plain:
              schema: {type: string}
        "405": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Timeout"}
  /openapi.yaml:
    get:
      summary: This document.
      responses:
        "200":
          description: OpenAPI 3 in YAML.
          content:
            application/yaml:
              schema: {type: string}
        "405": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Timeout"}
  /v1/models:
    get:
      summary: The loaded models.
      responses:
        "200":
          description: One entry per model.
          content:
            application/json:
              schema:
                type: object
                required: [models]
                properties:
                  models:
                    type: array
                    items: {$ref: "#/components/schemas/Model"}
        "405": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Timeout"}
  /v1/classify:
    post:
      summary: Sequence classification of texts or text pairs.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [texts]
              properties:
                model: {type: string}
                texts: {$ref: "#/components/schemas/Texts"}
                text_pairs:
                  type: array
                  description: One second text per text (null for none).
                  items: {type: string, nullable: true}
      responses:
        "200":
          description: One result per text.
          content:
            application/json:
              schema:
                type: object
                required: [results]
                properties:
                  results:
                    type: array
                    items:
                      type: object
                      required: [label, index, score, logits, probabilities]
                      description: The same object as a line of zen predict --task classification, less its id.
                      properties:
                        label:
                          description: id2label's name of the best class, else its index (as zen predict writes it)
                          oneOf: [{type: string}, {type: integer}]
                        index: {type: integer}
                        score: {type: number, description: softmax probability of the label}
                        logits: {type: array, items: {type: number, nullable: true}}
                        probabilities: {type: array, description: "softmax of the logits, one per class", items: {type: number, nullable: true}}
        "400": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Timeout"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Overloaded"}
  /v1/ner:
    post:
      summary: Token classification (entities, or words with BMES tags) of texts.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [texts]
              properties:
                model: {type: string}
                texts: {$ref: "#/components/schemas/Texts"}
      responses:
        "200":
          description: One result per text.
          content:
            application/json:
              schema:
                type: object
                required: [results]
                properties:
                  results:
                    type: array
                    items:
                      type: object
                      required: [tokens, entities, labels, logits, truncated]
                      description: The same object as a line of zen predict --task ner, less its id.
                      properties:
                        tokens:
                          type: array
                          description: The tokens scored, [CLS] and [SEP] included.
                          items: {type: string}
                        entities:
                          type: array
                          items:
                            type: object
                            required: [type, start, end, text]
                            properties:
                              type: {type: string}
                              start: {type: integer, description: first Unicode scalar of the entity}
                              end: {type: integer, description: one past its last Unicode scalar}
                              text: {type: string}
                        labels:
                          type: array
                          description: One label per Unicode scalar of the text ("O" where no token was scored).
                          items: {type: string}
                        logits:
                          type: array
                          description: One row of label logits per token.
                          items: {type: array, items: {type: number, nullable: true}}
                        truncated: {type: boolean, description: "the text's end was not tagged: cut as the reference cuts it (--long-texts truncate), or after a word with more tokens than max-seq-length holds"}
        "400": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Timeout"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Overloaded"}
  /v1/embed:
    post:
      summary: One vector per text.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [texts]
              properties:
                model: {type: string}
                texts: {$ref: "#/components/schemas/Texts"}
                pooling:
                  type: string
                  enum: [cls, mean, pooler]
                  default: cls
                  description: the last layer's [CLS] state, the mean of its states over every real token, or the pooler's output
      responses:
        "200":
          description: One embedding per text.
          content:
            application/json:
              schema:
                type: object
                required: [embeddings, pooling]
                properties:
                  embeddings:
                    type: array
                    items: {type: array, items: {type: number, nullable: true}}
                  pooling: {type: string, enum: [cls, mean, pooler]}
        "400": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Timeout"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Overloaded"}
  /v1/fill-mask:
    post:
      summary: The most likely tokens at each [MASK] of a text.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [text]
              properties:
                model: {type: string}
                text: {type: string, description: "every literal [MASK] is a mask, wherever it stands (很[MASK]，)"}
                top_k: {type: integer, minimum: 1, default: 5}
      responses:
        "200":
          description: Candidates per [MASK], most likely first.
          content:
            application/json:
              schema:
                type: object
                required: [masks]
                properties:
                  masks:
                    type: array
                    items:
                      type: object
                      required: [position, candidates]
                      properties:
                        position: {type: integer, description: "token index of the [MASK], [CLS] being 0"}
                        candidates:
                          type: array
                          items:
                            type: object
                            required: [token, score]
                            properties:
                              token: {type: string}
                              score: {type: number, nullable: true, description: softmax probability}
        "400": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Timeout"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Overloaded"}
components:
  schemas:
    Texts:
      type: array
      minItems: 1
      description: At most max-texts non-empty texts of at most max-text-chars Unicode scalars each.
      items: {type: string, minLength: 1}
    Model:
      type: object
      required: [name, tasks, config]
      properties:
        name: {type: string}
        tasks:
          type: array
          items: {type: string, enum: [embed, classification, ner, fill-mask]}
        labels:
          type: array
          description: id2label in index order, when the checkpoint has it.
          items: {type: string}
        config:
          type: object
          required: [hidden_size, num_hidden_layers, num_hidden_word_layers, num_attention_heads, intermediate_size,
                     vocab_size, word_size, max_ngrams, max_seq_length, ngram_weighting, precision]
          properties:
            hidden_size: {type: integer}
            num_hidden_layers: {type: integer}
            num_hidden_word_layers: {type: integer}
            num_attention_heads: {type: integer}
            intermediate_size: {type: integer}
            vocab_size: {type: integer}
            word_size: {type: integer}
            max_ngrams: {type: integer}
            max_seq_length: {type: integer}
            ngram_weighting: {type: string}
            precision: {type: string, enum: [fp32, bf16, int8]}
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code: {type: string}
            message: {type: string}
  responses:
    Error:
      description: |
        400 malformed JSON, invalid UTF-8, a wrong field type or a missing field, or malformed HTTP (`invalid_http`);
        404 an unknown model or path; 405 a wrong method (with Allow); 413 a body over max-body-bytes, more than
        max-texts texts or a text over max-text-chars; 415 a Content-Type other than application/json;
        422 a request the model cannot serve (a task its heads do not serve, empty texts, no [MASK]).
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
    Timeout:
      description: The request did not arrive whole within the server's --read-timeout; the connection is closed.
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
    Overloaded:
      description: The queue is full; retry after the seconds in Retry-After.
      headers:
        Retry-After:
          schema: {type: integer}
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
"""#
